import ModelGraph
import TensorCore

/// One tensor dimension cut by a group: unit `u` of the group owns the elements
/// `offset + u·width ..< offset + (u+1)·width` along `axis` of the constant `parameter`.
///
/// `width` > 1 (elements per unit) appears after Flatten (channel × spatial blocks: a conv channel
/// feeds H·W consecutive
/// inputs of the next Gemm) and for attention heads (a head owns head_dim consecutive channels).
public struct GroupMember: Sendable, Equatable, CustomStringConvertible {
  public enum Role: String, Sendable {
    /// Output dimension of the layer that creates the channels (Conv/Gemm/MatMul weight).
    case output
    /// Input dimension of a layer that reads the channels.
    case input
    /// Per-channel vector: bias, BatchNorm/LayerNorm parameter, elementwise constant.
    case vector
  }

  public var parameter: String
  public var axis: Int
  public var offset: Int
  public var width: Int
  public var role: Role
  /// The node that reads `parameter`.
  public var node: String
  /// Groups of the grouped Conv reading the channels (its weight is [out, in/groups, …]); 1 otherwise.
  public var convGroups: Int

  public init(
    parameter: String, axis: Int, offset: Int = 0, width: Int = 1, role: Role, node: String,
    convGroups: Int = 1
  ) {
    self.parameter = parameter
    self.axis = axis
    self.offset = offset
    self.width = width
    self.role = role
    self.node = node
    self.convGroups = convGroups
  }

  public var description: String {
    var text = "\(role.rawValue) \(parameter)[axis \(axis)"
    if offset != 0 { text += ", from \(offset)" }
    if width != 1 { text += ", ×\(width) per unit" }
    if convGroups != 1 { text += ", conv groups \(convGroups)" }
    return text + "] at \(node)"
  }
}

/// A shape constant that states a pruned size (e.g. num_heads or hidden size in a Reshape target):
/// element `index` of constant `value` equals `units` (× `perUnit`) and must follow the cut.
public struct ShapeConstantUse: Sendable, Equatable {
  public var value: String
  public var index: Int
  public var perUnit: Int
}

/// The coupled dimensions that must be cut together, with the same kept unit indices.
public struct PruningGroup: Sendable, CustomStringConvertible {
  public enum Kind: Sendable, Equatable {
    case channels
    case heads(headDim: Int)
  }

  public var id: Int
  public var kind: Kind
  /// Number of units (channels, neurons or heads).
  public var size: Int
  public var members: [GroupMember]
  /// The kept units must be spread evenly over this many contiguous blocks (grouped convolutions).
  public var balancedBlocks: Int
  /// Why the group cannot be cut (reaches a graph output, unsupported node, …); nil = prunable.
  public var blockedBy: String?
  /// Nodes whose `group` attribute equals the unit count (depthwise convolutions).
  public var depthwiseNodes: [String]
  /// Nodes whose `num_heads` attribute equals the unit count.
  public var numHeadsNodes: [String]
  /// Shape constants to rewrite.
  public var shapeConstants: [ShapeConstantUse]

  public init(id: Int, kind: Kind = .channels, size: Int) {
    self.id = id
    self.kind = kind
    self.size = size
    self.members = []
    self.balancedBlocks = 1
    self.depthwiseNodes = []
    self.numHeadsNodes = []
    self.shapeConstants = []
  }

  public var isPrunable: Bool { blockedBy == nil && members.contains { $0.role == .output } }

  /// Short name: the first output member's node.
  public var name: String {
    let origin = members.first { $0.role == .output }?.node ?? "?"
    return "#\(id) (\(origin))"
  }

  public var description: String {
    let unit: String
    switch kind {
    case .channels: unit = "channels"
    case .heads(let d): unit = "heads of \(d)"
    }
    var lines = ["group \(name): \(size) \(unit)"]
    if balancedBlocks > 1 { lines[0] += ", kept evenly over \(balancedBlocks) conv groups" }
    if let reason = blockedBy { lines[0] += " — not prunable: \(reason)" }
    lines += members.map { "  \($0)" }
    lines += depthwiseNodes.map { "  group attribute of \($0)" }
    lines += numHeadsNodes.map { "  num_heads attribute of \($0)" }
    lines += shapeConstants.map { "  shape constant \($0.value)[\($0.index)]" }
    return lines.joined(separator: "\n")
  }

  /// Importance of each unit: the criterion's element scores summed over every member's slice
  /// (Torch-Pruning's group importance; for Taylor this is the group Taylor score).
  public func importance(by criterion: any ImportanceCriterion, in graph: Graph) throws -> [Double] {
    var total = [Double](repeating: 0, count: size)
    for member in members {
      let scores = try criterion.scores(for: member.parameter, in: graph)
      let values = scores.floats
      let shape = scores.shape
      guard member.axis < shape.count else { continue }
      let strides = Tensor.strides(of: shape)
      let along = shape[member.axis]
      let step = strides[member.axis]
      for index in 0..<values.count {
        let position = (index / step) % along
        if let unit = unitOf(position: position, row: index / (step * along), member: member, shape: shape) {
          total[unit] += Double(values[index])
        }
      }
    }
    return total
  }

  /// The unit owning `position` along the member's axis; `row` is the index over the axes before it
  /// (needed for grouped conv inputs, where the column's channel depends on the output row's group).
  func unitOf(position: Int, row: Int, member: GroupMember, shape: [Int]) -> Int? {
    if member.convGroups > 1 {
      // weight [out, in/g, …]: row o belongs to conv group o / (out/g), column j is input channel
      // group·(in/g) + j of the conv's input.
      let perGroupOut = shape[0] / member.convGroups
      let conv = row / max(perGroupOut, 1)
      let channel = conv * shape[1] + position - member.offset
      return channel >= 0 && channel < size ? channel : nil
    }
    let local = position - member.offset
    guard local >= 0, local < size * member.width else { return nil }
    return local / member.width
  }
}
