import ModelGraph
import Runtime
import TensorCore

/// What a one-shot layer-wise run did.
public struct OneShotReport: Sendable, Codable {
  public struct Layer: Sendable, Codable {
    public var index: Int
    /// The target of this layer (allocation) and what its Linears got.
    public var target: Double
    public var sparsity: Double
    public var linears: [LinearPruneReport]
  }

  public var criterion: String
  public var layers: [Layer]
  /// Real calibration tokens the statistics were summed over.
  public var calibrationTokens: Int
  /// Zero fraction over all pruned Linear weights.
  public var sparsity: Double
  public var prunedWeights: Int
}

/// One-shot pruning of a transformer encoder, layer by layer (the sequential protocol of SparseGPT
/// and Wanda): calibration hidden states are captured at the input of encoder layer 0; for each layer
/// the still dense layer runs on the current hidden states to give its Linears' input statistics, all
/// its Linears are pruned, and the pruned layer runs again to give the next layer's inputs. Every
/// forward is the Runtime executor on one segment of the graph (`GraphSegments`), so peak memory is
/// the model plus one layer's calibration activations.
public struct SequentialPruner {
  public let layers: [EncoderLayer]
  let segments: GraphSegments

  public init(graph: Graph) throws {
    layers = try EncoderLayers.find(in: graph)
    segments = try GraphSegments(graph: graph, layers: layers)
  }

  /// Where the statistics of a layer's Linears come from.
  public enum WithinLayer: String, Sendable, Codable {
    /// One run of the dense layer gives all six (the protocol of the Wanda and SparseGPT papers).
    case together
    /// Each group of Linears sharing an input (query/key/value, output, up, down) is pruned before
    /// the next group's statistics are taken through it (SparseGPT's `--true-sequential`): later
    /// Linears see, and compensate, the earlier ones' pruning. Costs four runs of the layer instead of one.
    case sequential
  }

  /// Told (phase, step, steps) as the run advances.
  public typealias Progress = (String, Int, Int) -> Void

  /// Prunes every encoder layer's Linears of `graph` in place with `criterion`; `targets[i]` is layer
  /// i's target (one entry: all layers). Writes the pruned (and, for SparseGPT, updated) weights and
  /// their masks into `graph`.
  public func prune(
    _ graph: inout Graph, batches: [CalibrationBatch], criterion: any LayerwiseCriterion, targets: [LayerTarget],
    withinLayer: WithinLayer = .together, roleOffsets: [Double] = [], progress: Progress? = nil
  ) throws -> OneShotReport {
    guard targets.count == 1 || targets.count == layers.count else {
      throw PruningError.invalidArgument(
        what: "per-layer targets", expected: "1 or \(layers.count) (one per encoder layer)", found: "\(targets.count)")
    }
    let needsData = criterion.needsCalibration
    if needsData { try Self.check(batches) }
    var carried = batches.map(\.inputs)
    if needsData { try segments.run(0, of: graph, carried: &carried, observe: [], advance: true) }
    var reports: [OneShotReport.Layer] = []
    var (zeros, total) = (0.0, 0)
    for (i, layer) in layers.enumerated() {
      progress?("pruning encoder layers", i, layers.count)
      let target = targets.count == 1 ? targets[0] : targets[i]
      // Groups of Linears sharing an input, in node order (query/key/value, output, up, down).
      var groups: [[LinearSite]] = []
      for site in layer.linears {
        if let g = groups.firstIndex(where: { $0[0].input == site.input }) { groups[g].append(site) } else { groups.append([site]) }
      }
      if withinLayer == .together { groups = [layer.linears] }
      var stats: [String: LinearCalibration] = [:]
      var linearReports: [LinearPruneReport] = []
      for site in groups.flatMap({ $0 }) {
        if needsData, stats[site.input] == nil, let group = groups.first(where: { $0.contains(site) }) {
          // Statistics of this group's inputs, through the layer as pruned so far.
          stats = try collect(
            layer: i, graph: graph, carried: &carried, batches: batches, hessian: criterion.needsHessian,
            only: Set(group.map(\.input)))
        }
        let calibration = stats[site.input] ?? LinearCalibration(inputSquares: [], tokens: 0)
        let report = try pruneLinear(
          site, in: &graph, criterion: criterion, calibration: calibration,
          target: try Self.target(target, role: layer.linears.firstIndex(of: site)!, of: layer, offsets: roleOffsets))
        linearReports.append(report)
        zeros += report.sparsity * Double(site.inFeatures * site.outFeatures)
        total += site.inFeatures * site.outFeatures
      }
      let count = layer.linears.map { $0.inFeatures * $0.outFeatures }
      let layerSparsity =
        zip(linearReports, count).reduce(0.0) { $0 + $1.0.sparsity * Double($1.1) } / Double(count.reduce(0, +))
      reports.append(
        OneShotReport.Layer(index: i, target: target.fraction, sparsity: layerSparsity, linears: linearReports))
      if needsData && i + 1 < layers.count {
        try segments.run(i + 1, of: graph, carried: &carried, observe: [], advance: true)
      }
    }
    progress?("pruning encoder layers", layers.count, layers.count)
    let tokens = batches.reduce(0) { $0 + $1.realTokens.filter { $0 }.count }
    return OneShotReport(
      criterion: criterion.name, layers: reports, calibrationTokens: needsData ? tokens : 0,
      sparsity: zeros / Double(max(total, 1)), prunedWeights: total)
  }

  /// Per encoder layer, over the dense model (no pruning), the fraction of Wanda scores |W_ij|·‖X_j‖₂
  /// of its Linears above `threshold`× their mean: OWL's layer-wise outlier ratio (Yin et al. 2024).
  public func outlierRatios(graph: Graph, batches: [CalibrationBatch], threshold: Double) throws -> [Double] {
    try Self.check(batches)
    var carried = batches.map(\.inputs)
    try segments.run(0, of: graph, carried: &carried, observe: [], advance: true)
    var ratios: [Double] = []
    for (i, layer) in layers.enumerated() {
      let stats = try collect(layer: i, graph: graph, carried: &carried, batches: batches, hessian: false)
      var scores: [Float] = []
      for site in layer.linears {
        let (w, _) = try Self.outInWeights(site, graph)
        scores += WandaImportance.scores(
          w, rows: site.outFeatures, cols: site.inFeatures, inputSquares: stats[site.input]!.inputSquares)
      }
      let mean = scores.reduce(0.0) { $0 + Double($1) } / Double(max(scores.count, 1))
      let limit = Float(mean * threshold)
      ratios.append(Double(scores.filter { $0 > limit }.count) / Double(max(scores.count, 1)))
      if i + 1 < layers.count { try segments.run(i + 1, of: graph, carried: &carried, observe: [], advance: true) }
    }
    return ratios
  }

  /// Runs layer `i` (segment i + 1) dense on every batch without advancing, and sums its Linears'
  /// input statistics over the real tokens, keyed by input value.
  func collect(
    layer i: Int, graph: Graph, carried: inout [[String: Tensor]], batches: [CalibrationBatch], hessian: Bool,
    only: Set<String>? = nil
  ) throws -> [String: LinearCalibration] {
    var inputs: [String: Int] = [:]
    for site in layers[i].linears where only?.contains(site.input) ?? true { inputs[site.input] = site.inFeatures }
    let names = inputs.keys.sorted()
    // Summed over batches as they come (no activations kept): Σ x² per feature, and XᵀX.
    var squares: [String: [Double]] = [:]
    var products: [String: [Float]] = [:]
    var tokens = 0
    var gathered: [Float] = []
    try segments.run(i + 1, of: graph, carried: &carried, observe: names, advance: false) { b, outputs in
      let real = batches[b].realTokens
      let n = real.filter { $0 }.count
      tokens += n
      for name in names {
        let cols = inputs[name]!
        guard let t = outputs[name], t.dtype == .float32, t.count == real.count * cols else {
          throw PruningError.callbackFailed(
            what: "calibration of encoder layer \(i)",
            reason: "Linear input '\(name)' should hold \(real.count) token rows × \(cols) features, found "
              + "\(outputs[name].map { "\($0.dtype) \($0.shape)" } ?? "nothing")")
        }
        let values = t.floats
        gathered.removeAll(keepingCapacity: true)
        for r in 0..<real.count where real[r] { gathered.append(contentsOf: values[(r * cols)..<((r + 1) * cols)]) }
        var sq = squares.removeValue(forKey: name) ?? [Double](repeating: 0, count: cols)
        var partial = [Float](repeating: 0, count: cols)
        gathered.withUnsafeBufferPointer { x in
          partial.withUnsafeMutableBufferPointer { p in
            for r in 0..<n {
              let row = x.baseAddress! + r * cols
              for c in 0..<cols { p[c] += row[c] * row[c] }
            }
          }
        }
        for c in 0..<cols { sq[c] += Double(partial[c]) }
        squares[name] = sq
        guard hessian, n > 0 else { continue }
        var h = products.removeValue(forKey: name) ?? [Float](repeating: 0, count: cols * cols)
        gathered.withUnsafeBufferPointer { xb in
          h.withUnsafeMutableBufferPointer {
            symmetricRankKUpdate(n: cols, k: n, alpha: 1, x: xb.baseAddress!, ldx: cols, c: $0.baseAddress!)
          }
        }
        products[name] = h
      }
    }
    var stats: [String: LinearCalibration] = [:]
    for name in names {
      let scale = 2 / Float(max(tokens, 1))
      let h = products[name].map { $0.map { $0 * scale } }
      stats[name] = LinearCalibration(
        inputSquares: (squares[name] ?? []).map { Float($0) }, hessian: h, tokens: tokens)
    }
    return stats
  }

  /// Prunes one Linear in `graph` (weights seen as [out, in]) and stores the result and its mask.
  func pruneLinear(
    _ site: LinearSite, in graph: inout Graph, criterion: any LayerwiseCriterion, calibration: LinearCalibration,
    target: LayerTarget
  ) throws -> LinearPruneReport {
    var (w, shape) = try Self.outInWeights(site, graph)
    var (mask, report) = try criterion.prune(
      weights: &w, rows: site.outFeatures, cols: site.inFeatures, calibration: calibration, target: target,
      parameter: site.weight)
    if !site.weightIsOutIn {
      w = Self.transpose(w, rows: site.outFeatures, cols: site.inFeatures)
      mask = Self.transpose(mask, rows: site.outFeatures, cols: site.inFeatures)
    }
    guard w.allSatisfy(\.isFinite) else {
      throw PruningError.callbackFailed(
        what: "\(criterion.name) on '\(site.weight)'", reason: "the updated weights are not finite")
    }
    graph.initializers[site.weight] = Tensor(shape: shape, floats: w)
    graph.masks[site.weight] = Tensor(shape: shape, floats: mask)
    report.weight = site.weight
    return report
  }

  /// Role names of a layer's six Linears, in `EncoderLayer.linears` order.
  public static let roles = ["query", "key", "value", "attention-output", "up", "down"]

  /// A Linear's target: the layer's unstructured sparsity plus its role's offset, the offsets centred
  /// so that the layer's weighted mean stays at the layer's target (N:M targets are not moved).
  static func target(_ base: LayerTarget, role: Int, of layer: EncoderLayer, offsets: [Double]) throws -> LayerTarget {
    guard case .sparsity(let s) = base, !offsets.isEmpty else { return base }
    guard offsets.count == layer.linears.count else {
      throw PruningError.invalidArgument(
        what: "role offsets", expected: "\(layer.linears.count) (\(roles.joined(separator: ", ")))", found: "\(offsets.count)")
    }
    let sizes = layer.linears.map { Double($0.inFeatures * $0.outFeatures) }
    let mean = zip(offsets, sizes).reduce(0.0) { $0 + $1.0 * $1.1 } / sizes.reduce(0, +)
    let t = s + offsets[role] - mean
    guard t > 0, t < 1 else {
      throw PruningError.invalidArgument(
        what: "sparsity of \(roles[role]) in encoder layer \(layer.index)", expected: "in (0, 1) after the role offsets",
        found: "\(t)")
    }
    return .sparsity(t)
  }

  /// The weight of `site` as [out, in] row-major, and its stored shape.
  static func outInWeights(_ site: LinearSite, _ graph: Graph) throws -> ([Float], [Int]) {
    guard let t = graph.initializers[site.weight] else { throw PruningError.missingParameter(name: site.weight) }
    let values = t.floats
    guard values.allSatisfy(\.isFinite) else {
      throw PruningError.unsupportedParameter(
        name: site.weight, expected: "finite weights", found: "NaN or infinite values")
    }
    return (site.weightIsOutIn ? values : transpose(values, rows: site.inFeatures, cols: site.outFeatures), t.shape)
  }

  static func transpose(_ a: [Float], rows: Int, cols: Int) -> [Float] {
    var t = [Float](repeating: 0, count: a.count)
    for r in 0..<rows { for c in 0..<cols { t[c * rows + r] = a[r * cols + c] } }
    return t
  }

  static func check(_ batches: [CalibrationBatch]) throws {
    let tokens = batches.reduce(0) { $0 + $1.realTokens.filter { $0 }.count }
    guard tokens > 0 else {
      throw PruningError.invalidArgument(
        what: "calibration data", expected: "at least one real token", found: "\(batches.count) batches, no tokens")
    }
  }
}

extension LayerwiseCriterion {
  /// Whether the criterion reads calibration statistics (magnitude does not).
  public var needsCalibration: Bool { !(self is MagnitudeImportance) }
}

extension LayerTarget {
  /// The fraction of weights this target removes.
  public var fraction: Double {
    switch self {
    case .sparsity(let s): return s
    case .nOfM(let n, let m): return Double(m - n) / Double(m)
    }
  }
}
