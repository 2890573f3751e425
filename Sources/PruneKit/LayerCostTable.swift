import Energy
import Foundation
import ModelGraph
import Pruning
import Runtime
import TensorCore

/// Measures the hardware-aware cost table (NetAdapt's empirical per-layer latency table, Yang et al.
/// 2018): for each prunable layer and each candidate, the layer is built as a one-node graph with the
/// candidate applied and timed through the executor with `SparseKernelSelector` — the kernel a full
/// load would pick — on the layer's real input activations (from one dense run of the model on the
/// timing inputs). A `channels` candidate also re-times every layer that reads the cut channels (their
/// inputs narrowed to the kept ones). Micro-benchmarks per layer, never a whole-model run per
/// candidate; results are cached per CPU (`LayerCostCache`). Energy is modelled (Horowitz 45 nm,
/// weights from DRAM) from the same layer's MACs and the bytes the chosen kernel keeps.
public struct LayerCostMeasurer {
  public struct Options: Sendable {
    public var threads = 1
    /// Kinds of candidate offered (dense always is).
    public var kinds: Set<PruningCandidate.Kind> = [.unstructured, .nm, .block, .channels]
    public var sparsities: [Double] = [0.3, 0.5, 0.7, 0.8, 0.9, 0.95]
    /// N:M patterns (N, M), offered where the weight's input dimension is a multiple of M.
    public var nOfM: [[Int]] = [[2, 4]]
    /// Block candidates (rows, cols) at each of `blockSparsities`.
    public var blocks: [[Int]] = [[4, 4]]
    public var blockSparsities: [Double] = [0.75, 0.9]
    /// Fractions of a layer's channel (or head) group removed.
    public var ratios: [Double] = [0.25, 0.5, 0.75]
    /// Each cut is also offered with the layer's remaining weight unstructured-sparse at these levels
    /// (when unstructured candidates are offered): a cut narrows a layer, sparsity then thins it.
    public var cutSparsities: [Double] = [0.5, 0.8]
    /// Runs per timing: at least `minimumRuns` and `minimumSeconds`; the median is kept.
    public var minimumRuns = 15
    public var minimumSeconds = 0.04
    public var cache: LayerCostCache? = .shared
    public var energy = EnergyModel(profile: (try? HardwareProfile.builtin("horowitz-45nm"))!)

    public init() {}
  }

  public let graph: Graph
  public let inputs: [String: Tensor]
  public var options: Options
  /// Layers measured: (weight, node) in graph order.
  public let layers: [(weight: String, node: Node)]
  let groups: CandidateGroups
  /// Each layer's dense input.
  let activations: [String: Tensor]

  /// `graph` is prepared for structured cuts here (same function); `inputs` are the timing inputs.
  public init(graph original: Graph, inputs: [String: Tensor], options: Options = Options()) throws {
    var graph = original
    _ = prepareForStructuredPruning(&graph)
    self.graph = graph
    self.inputs = inputs
    self.options = options
    let prunable = Set(PrunableSelection.default.parameters(in: graph))
    var layers: [(String, Node)] = []
    for node in graph.nodes where ["Conv", "Gemm", "MatMul"].contains(node.opType) && node.inputs.count >= 2 {
      let w = node.inputs[1]
      if prunable.contains(w), graph.initializers[node.inputs[0]] == nil, !layers.contains(where: { $0.0 == w }) {
        layers.append((w, node))
      }
    }
    guard !layers.isEmpty else {
      throw PruningError.invalidArgument(
        what: "cost table", expected: "Conv/Gemm/MatMul layers with a Float32 weight initializer", found: "none")
    }
    self.layers = layers
    groups = CandidateGroups(graph)
    let executor = try Executor(graph: graph, optimize: false)
    activations = try executor.run(inputs, keeping: Set(layers.map { $0.1.inputs[0] }))
  }

  /// The candidates offered for `weight`: dense first, then the sparse patterns that fit its shape,
  /// then channel cuts when the layer creates a prunable group.
  public func candidates(for weight: String) -> [PruningCandidate] {
    var list: [PruningCandidate] = [.dense]
    list += options.sparsities.map { .unstructured($0) }.filter { options.kinds.contains($0.kind) }
    for p in options.nOfM where options.kinds.contains(.nm) && p.count == 2 && SparsityPattern.nOfM(n: p[0], m: p[1]).fits(weight, in: graph) {
      list.append(.nOfM(p[0], p[1]))
    }
    for b in options.blocks where options.kinds.contains(.block) && b.count == 2 && SparsityPattern.block(rows: b[0], cols: b[1]).fits(weight, in: graph) {
      list += options.blockSparsities.map { .block(b[0], b[1], $0) }
    }
    if options.kinds.contains(.channels), let group = groups.byLayer[weight] {
      // A ratio that rounds to no removed unit (or to all) is not a candidate.
      for r in options.ratios {
        let removed = Int((r * Double(group.size / max(group.balancedBlocks, 1))).rounded())
        guard removed > 0 && removed < group.size / max(group.balancedBlocks, 1) else { continue }
        list.append(.channels(r))
        if options.kinds.contains(.unstructured) { list += options.cutSparsities.map { .channels(r, sparsity: $0) } }
      }
    }
    return list
  }

  /// Measured cost of every candidate of every layer (losses left 0: see `HardwareAwarePlanner`).
  public func measure(progress: ((Int, Int) -> Void)? = nil) throws -> [LayerCosts] {
    var result: [LayerCosts] = []
    // Every layer's dense time first: a cut prices the layers it narrows against these same timings.
    var dense: [String: Timed] = [:]
    for (_, node) in layers { dense[node.name] = try time(node, in: graph, input: activations[node.inputs[0]]!) }
    for (index, (weight, node)) in layers.enumerated() {
      var options: [CostedCandidate] = []
      for candidate in candidates(for: weight) {
        options.append(try cost(of: candidate, weight: weight, node: node, dense: dense))
      }
      result.append(LayerCosts(layer: weight, node: node.name, options: options))
      progress?(index + 1, layers.count)
    }
    return result
  }

  /// `denseTimes`: every layer's dense timing, by node name.
  func cost(of candidate: PruningCandidate, weight: String, node: Node, dense denseTimes: [String: Timed]) throws
    -> CostedCandidate
  {
    let dense = denseTimes[node.name]!
    switch candidate.kind {
    case .dense:
      return CostedCandidate(candidate: candidate, seconds: dense.seconds, joules: dense.joules, kernels: [dense.kernel])
    case .unstructured, .nm, .block:
      var sub = try Self.oneNodeGraph(node, in: graph, input: activations[node.inputs[0]]!)
      try applyCandidates([weight: candidate], to: &sub)
      let t = try time(sub.nodes[0], in: sub, input: activations[node.inputs[0]]!)
      return CostedCandidate(candidate: candidate, seconds: t.seconds, joules: t.joules, kernels: [t.kernel])
    case .channels:
      // The cut graph; every Conv/Gemm/MatMul member of the group re-timed there.
      let (model, group, kept) = try cutGraph(weight, ratio: candidate.ratio!)
      var cut = model
      if let s = candidate.sparsity {
        let builder = MaskBuilder(criterion: MagnitudeImportance(), scope: .layer, pattern: .unstructured)
        try cut.setMasks(builder.masks(for: cut, parameters: [weight], sparsity: s))
      }
      var seconds = dense.seconds
      var joules = dense.joules
      var kernels: [String] = []
      var own = dense.seconds
      var scales: [String: Double] = [:]
      let keptSet = Set(kept)
      for name in Set(group.members.map(\.node)).sorted() {
        guard let original = graph.nodes.first(where: { $0.name == name }),
          let (_, before) = layers.first(where: { $0.node.name == name }),
          let after = cut.nodes.first(where: { $0.name == name })
        else { continue }
        let x = activations[before.inputs[0]]!
        let narrowed = try Self.narrowInput(
          x, of: original, members: group.members.filter { $0.node == name && $0.role == .input },
          keptUnits: keptSet, groupSize: group.size)
        let was = try denseTimes[name] ?? time(original, in: graph, input: x)
        let now = try time(after, in: cut, input: narrowed)
        seconds += now.seconds - was.seconds
        joules += now.joules - was.joules
        kernels.append("\(name): \(now.kernel)")
        if name == node.name {
          own = now.seconds
        } else if was.seconds > 0 {
          scales[before.inputs[1]] = now.seconds / was.seconds
        }
      }
      return CostedCandidate(
        candidate: candidate, seconds: seconds, joules: max(joules, 0), kernels: kernels,
        cut: CutTiming(ownSeconds: own, memberScales: scales))
    }
  }

  /// The model with `ratio` of the group that `weight`'s layer creates cut (the least important units
  /// by the group's magnitude, as `applyCandidates` cuts them), the group and its kept units.
  func cutGraph(_ weight: String, ratio: Double) throws -> (graph: Graph, group: PruningGroup, kept: [Int]) {
    let (group, kept) = try groups.kept(weight, ratio: ratio, in: graph)
    var cut = graph
    try applyStructured(StructuredPlan(groups: [group], kept: [group.id: kept]), to: &cut)
    return (cut, group, kept)
  }

  struct Timed {
    var seconds: Double
    var joules: Double
    var kernel: String
  }

  /// Median seconds of `node` (constants from `graph`) on `input`, through the kernel the executor's
  /// `SparseKernelSelector` picks for it, less the executor's fixed cost per run (`runOverhead`: a
  /// whole model pays it once, not once per layer), and its modelled joules.
  func time(_ node: Node, in graph: Graph, input: Tensor) throws -> Timed {
    let sub = try Self.oneNodeGraph(node, in: graph, input: input)
    let entry = try measured(node, sub: sub, input: input)
    let pass = Self.identity(node)
    let fixed = try measured(pass, sub: Self.oneNodeGraph(pass, in: graph, input: input), input: input).seconds
    return Timed(
      seconds: max(0, entry.seconds - fixed), joules: try joules(sub, input: input, entry: entry), kernel: entry.kernel)
  }

  /// A node that only passes the layer's input through: what one executor run costs besides the layer.
  static func identity(_ node: Node) -> Node {
    Node(name: "run overhead", opType: "Identity", inputs: [node.inputs[0]], outputs: [node.outputs[0]])
  }

  /// The cached or freshly measured timing of the one-node graph `sub`.
  func measured(_ node: Node, sub: Graph, input: Tensor) throws -> LayerCostCache.Entry {
    let feeds = [node.inputs[0]: input]
    let zeros = Int((SparseKernelSelector.zeroFraction(input) * 10).rounded())
    let key = LayerCostCache.key(
      node: node, in: sub, inputShape: input.shape, threads: options.threads, inputs: "\(zeros * 10)% zeros")
    let entry: LayerCostCache.Entry
    if let cached = options.cache?.lookup(key) {
      entry = cached
    } else {
      var selectorOptions = SparseKernelSelector.Options()
      selectorOptions.threads = options.threads
      let selector = SparseKernelSelector(
        graph: sub, inputShapes: [node.inputs[0]: input.shape], sample: feeds, options: selectorOptions)
      let executor = try Executor(graph: sub, selector: selector)
      let runs = try ModelBenchmark.time(
        executor, feeds, minimumRuns: options.minimumRuns, minimumSeconds: options.minimumSeconds)
      let choice = selector.choices.first
      let weightBytes = choice?.weightBytes ?? (node.inputs.count > 1 ? sub.initializers[node.inputs[1]]?.count ?? 0 : 0) * 4
      entry = LayerCostCache.Entry(
        seconds: ModelBenchmark.percentile(runs, 0.5), kernel: choice?.kernel.description ?? "dense",
        weightBytes: weightBytes)
      options.cache?.store(key, entry)
    }
    return entry
  }

  /// Modelled joules of the one-node graph: the MACs the kernel performs (non-zero ones for a sparse
  /// kernel), the weight bytes it keeps, Float32 activations on chip.
  func joules(_ sub: Graph, input: Tensor, entry: LayerCostCache.Entry) throws -> Double {
    guard let cost = try sub.costs(inputShapes: [sub.nodes[0].inputs[0]: input.shape]).nodes.first else { return 0 }
    let sparse = entry.kernel != "dense"
    let stored = sparse ? cost.nonzeroParameters : cost.parameters
    let traffic = LayerTraffic(
      name: cost.node, macs: sparse ? cost.nonzeroMACs : cost.macs, storedWeights: stored, bitsPerWeight: 32,
      indexBits: max(0, entry.weightBytes * 8 - stored * 32), activationReads: cost.activationBytesRead / 4,
      activationWrites: cost.activationBytesWritten / 4)
    return options.energy.layer(traffic).total
  }

  /// `node` alone: its first input a graph input of `input`'s shape, its constant inputs copied.
  static func oneNodeGraph(_ node: Node, in graph: Graph, input: Tensor) throws -> Graph {
    var initializers: [String: Tensor] = [:]
    for name in node.inputs.dropFirst() where !name.isEmpty {
      guard let t = graph.initializers[name] else {
        throw PruningError.invalidArgument(
          what: "layer '\(node.name)'", expected: "constant inputs besides the first", found: "'\(name)' computed")
      }
      initializers[name] = t
    }
    var sub = Graph(
      name: node.name, nodes: [node], initializers: initializers,
      inputs: [ValueInfo(name: node.inputs[0], dtype: .float32, shape: input.shape.map { .fixed($0) })],
      outputs: [ValueInfo(name: node.outputs[0], dtype: .float32, shape: nil)], opsetVersion: graph.opsetVersion)
    sub.masks = graph.masks.filter { initializers[$0.key] != nil }
    return sub
  }

  /// `x` with only the kept units' features along the layer's input-feature axis (Conv: 1, else the
  /// last), as `members` (the layer's input members of the group) lay them out.
  static func narrowInput(
    _ x: Tensor, of node: Node, members: [GroupMember], keptUnits: Set<Int>, groupSize: Int
  ) throws -> Tensor {
    guard !members.isEmpty else { return x }
    let axis = node.opType == "Conv" ? 1 : x.rank - 1
    let features = x.shape[axis]
    var removed = Set<Int>()
    for m in members {
      for unit in 0..<groupSize where !keptUnits.contains(unit) {
        removed.formUnion((m.offset + unit * m.width)..<(m.offset + (unit + 1) * m.width))
      }
    }
    guard removed.allSatisfy({ $0 < features }) else {
      throw PruningError.unsupportedParameter(
        name: node.name, expected: "input features covering the cut units", found: "\(features) features")
    }
    let keep = (0..<features).filter { !removed.contains($0) }
    let inner = x.shape[(axis + 1)...].reduce(1, *)
    let outer = x.count / (features * inner)
    let values = x.floats
    var out: [Float] = []
    out.reserveCapacity(outer * keep.count * inner)
    for o in 0..<outer {
      for f in keep {
        let base = (o * features + f) * inner
        out.append(contentsOf: values[base..<base + inner])
      }
    }
    var shape = x.shape
    shape[axis] = keep.count
    return Tensor(shape: shape, floats: out)
  }
}

extension SparseKernelSelector {
  /// Fraction of exact zeros in a Float32 tensor (0 for other types).
  static func zeroFraction(_ t: Tensor) -> Double {
    guard t.dtype == .float32, t.count > 0 else { return 0 }
    var zeros = 0
    for v in t.floats where v == 0 { zeros += 1 }
    return Double(zeros) / Double(t.count)
  }
}
