import ModelGraph
import TensorCore

/// The channel dependency graph of a model (after Torch-Pruning's `DependencyGraph`, Fang et al. 2023):
/// every output dimension of a Conv/Gemm/MatMul is followed through the graph, and every tensor
/// dimension it meets — the next layer's input channels (through activations, BatchNorm, pooling,
/// Flatten as channel×spatial blocks, derivable Reshapes), biases and norm parameters, residual `Add`
/// partners, `Concat` offsets, grouped/depthwise convolution groups — joins its `PruningGroup`.
///
/// A dimension that reaches a graph output, or a node this analysis cannot see through, makes its
/// group not prunable (`blockedBy` names the node); it never produces a cut that breaks the model.
public struct DependencyGraph: Sendable {
  public private(set) var groups: [PruningGroup]

  public init(graph: Graph) {
    var builder = CouplingBuilder(graph: graph)
    for node in graph.nodes { builder.visit(node) }
    for output in graph.outputs {
      if let layout = builder.layouts[output.name] {
        builder.block(layout, "reaches graph output '\(output.name)'")
      }
    }
    groups = builder.spaces.groups()
    // A member that is not a constant (e.g. an Identity of a shared initializer: see
    // `untieSharedConstants`) cannot be sliced: its group is not cut.
    for i in groups.indices where groups[i].blockedBy == nil {
      if let member = groups[i].members.first(where: { constantTensor($0.parameter, in: graph) == nil }) {
        groups[i].blockedBy = "'\(member.parameter)' (read by '\(member.node)') is not a constant"
      }
    }
  }

  public var prunableGroups: [PruningGroup] { groups.filter(\.isPrunable) }

  /// Why the groups that cannot be cut are blocked: distinct reasons, most frequent first, each with
  /// its group count (what a user reads when nothing is prunable).
  public var blockedReasons: [String] {
    var counts: [String: Int] = [:]
    var order: [String] = []
    for group in groups where group.members.contains(where: { $0.role == .output }) {
      guard let reason = group.blockedBy else { continue }
      if counts[reason] == nil { order.append(reason) }
      counts[reason, default: 0] += 1
    }
    return order.sorted { counts[$0]! > counts[$1]! }.map { reason in
      counts[reason]! > 1 ? "\(reason) (\(counts[reason]!) groups)" : reason
    }
  }

  /// The group whose output member is `parameter` (the layer that creates the channels).
  public func group(producedBy parameter: String) -> PruningGroup? {
    groups.first { $0.members.contains { $0.role == .output && $0.parameter == parameter } }
  }

  /// Every group, printed (which layers, which dimensions).
  public var description: String { groups.map(\.description).joined(separator: "\n") }
}

/// Walks the nodes in topological order, tracking the channel layout of each value.
struct CouplingBuilder {
  let graph: Graph
  var spaces = ChannelSpaces()
  var layouts: [String: ChannelLayout] = [:]
  var ranks: [String: Int] = [:]
  /// Values that are a mean over the channel axis kept as size 1 (decomposed LayerNorm/RMSNorm of
  /// opsets < 17: ReduceMean → Sub → Pow → ReduceMean → Add ε → Sqrt → Div) and what is computed
  /// from them alone: they broadcast along the channels like a scalar, whatever the channel count.
  var channelMeans: Set<String> = []

  static let unary: Set<String> = [
    "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Erf", "Gelu", "Sqrt", "Exp", "Log", "Neg", "Abs",
    "Identity", "Dropout", "Clip", "Softplus", "Softsign", "HardSigmoid", "HardSwish", "Elu", "Selu",
    "Celu", "Mish", "Cast", "Reciprocal", "Floor", "Ceil", "Round", "Sign", "Sin", "Cos", "Swish",
    "ThresholdedRelu", "Tan", "Atan",
  ]
  static let pooling: Set<String> = [
    "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "LpPool", "GlobalLpPool",
  ]
  static let binary: Set<String> = ["Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "PRelu"]

  init(graph: Graph) {
    self.graph = graph
    for input in graph.inputs { if let shape = input.shape { ranks[input.name] = shape.count } }
  }

  mutating func visit(_ node: Node) {
    let tracked = node.inputs.filter { !$0.isEmpty && layouts[$0] != nil }
    switch node.opType {
    case "Conv": conv(node)
    case "ConvTranspose": convTranspose(node)
    case "Resize", "Upsample": resize(node)
    case "Pad": pad(node)
    case let op where op.hasPrefix("Reduce"): reduce(node)
    case "Gemm": gemm(node)
    case "MatMul": matmul(node)
    case "BatchNormalization", "InstanceNormalization": channelNorm(node)
    case "LayerNormalization": layerNorm(node)
    case "Flatten": flatten(node)
    case "Reshape": reshape(node)
    case "Concat": concat(node)
    case "Softmax", "LogSoftmax", "Hardmax": softmax(node)
    case "Transpose": transpose(node)
    case "Shape", "Size", "Constant": break
    case let op where Self.unary.contains(op) || Self.pooling.contains(op):
      if let x = layouts[node.inputs[0]] { setOutput(node, x) }
      if let r = ranks[node.inputs[0]] { ranks[node.outputs[0]] = r }
      if channelMeans.contains(node.inputs[0]) { channelMeans.insert(node.outputs[0]) }
    case let op where Self.binary.contains(op): elementwise(node)
    default:
      if !tracked.isEmpty { blockInputs(node, "op \(node.opType) is not supported by the coupling analysis") }
    }
  }

  // MARK: helpers

  mutating func setOutput(_ node: Node, _ layout: ChannelLayout) {
    layouts[node.outputs[0]] = layout
    if let r = layout.rank { ranks[node.outputs[0]] = r }
  }

  mutating func block(_ layout: ChannelLayout, _ reason: String) {
    for segment in layout.segments { spaces.block(segment.space, reason) }
  }

  mutating func blockInputs(_ node: Node, _ reason: String) {
    for name in node.inputs where !name.isEmpty {
      if let layout = layouts[name] { block(layout, "node '\(node.name)' (\(node.opType)): \(reason)") }
    }
  }

  func total(_ layout: ChannelLayout) -> Int {
    layout.segments.reduce(0) { $0 + spaces.sizeOf($1.space) * max($1.width, 1) }
  }

  /// A new channel space for `node`'s output dimension of `parameter`.
  mutating func newSpace(size: Int, parameter: String, axis: Int, node: Node) -> Int {
    let s = spaces.make(size: size)
    spaces.add(GroupMember(parameter: parameter, axis: axis, role: .output, node: node.name), to: s)
    return s
  }

  /// Adds per-channel vector members for constant `name` (bias, norm parameter) along `axis`.
  mutating func addVector(_ name: String, axis: Int, layout: ChannelLayout, node: Node) {
    var offset = 0
    for segment in layout.segments {
      let rep = max(segment.width, 1)
      spaces.add(
        GroupMember(parameter: name, axis: axis, offset: offset, width: rep, role: .vector, node: node.name),
        to: segment.space)
      offset += spaces.sizeOf(segment.space) * rep
    }
  }

  /// Input members of a layer reading `layout` through `parameter` dimension `axis` of width `width`.
  /// Resolves Flatten's unknown spatial size: width / channels.
  mutating func addInputs(_ layout: ChannelLayout, parameter: String, axis: Int, width: Int, node: Node) {
    let channels = layout.segments.reduce(0) { $0 + spaces.sizeOf($1.space) }
    var segments = layout.segments
    if segments.contains(where: { $0.width == 0 }) {
      guard channels > 0, width % channels == 0 else {
        block(layout, "node '\(node.name)': input width \(width) is not a multiple of \(channels) channels")
        return
      }
      for i in segments.indices where segments[i].width == 0 { segments[i].width = width / channels }
    }
    let found = segments.reduce(0) { $0 + spaces.sizeOf($1.space) * $1.width }
    guard found == width else {
      block(layout, "node '\(node.name)': expects \(width) inputs, the traced channels give \(found)")
      return
    }
    var offset = 0
    for segment in segments {
      spaces.add(
        GroupMember(
          parameter: parameter, axis: axis, offset: offset, width: segment.width, role: .input,
          node: node.name),
        to: segment.space)
      offset += spaces.sizeOf(segment.space) * segment.width
    }
  }

  /// Couples two layouts that must line up channel for channel (Add partners, Concat on other axes).
  mutating func unify(_ a: ChannelLayout, _ b: ChannelLayout, node: Node) -> Bool {
    let sameRuns =
      a.axis == b.axis && a.segments.count == b.segments.count
      && zip(a.segments, b.segments).allSatisfy {
        spaces.sizeOf($0.space) == spaces.sizeOf($1.space) && $0.width == $1.width
      }
    guard sameRuns else {
      let reason = "node '\(node.name)' (\(node.opType)) combines channel runs that do not line up"
      block(a, reason)
      block(b, reason)
      return false
    }
    for (x, y) in zip(a.segments, b.segments) { spaces.union(x.space, y.space, at: node.name) }
    return true
  }
}
