import Foundation
import ModelGraph
import Pruning
import Runtime

/// What `prunekit prune MODEL --method wanda|sparsegpt|magnitude --calib …` does, as a library call:
/// layer-wise one-shot pruning of a transformer encoder from calibration texts, with uniform or
/// outlier-weighted (OWL) per-layer sparsity.
public struct OneShotOptions: Sendable {
  public enum Allocation: String, Sendable, CaseIterable { case uniform, owl }

  public var method = "wanda"
  /// Unstructured fraction (ignored for N:M).
  public var sparsity = 0.5
  /// `.unstructured` or `.nOfM`.
  public var pattern: SparsityPattern = .unstructured
  public var allocation: Allocation = .uniform
  /// OWL's Λ (the largest deviation of a layer's sparsity from the target) and M (outlier threshold,
  /// × the layer's mean score). Defaults chosen on a validation split (docs/oneshot-pruning.md).
  public var owlLambda = 0.08
  public var owlThreshold = 5.0
  /// Tokens per calibration text.
  public var maxLength = 128
  /// Statistics per layer from one dense run, or group by group through the pruned layer.
  public var withinLayer: SequentialPruner.WithinLayer = .together
  /// Per-role sparsity offsets (query, key, value, attention-output, up, down), centred per layer so
  /// the layer's sparsity is unchanged; empty = none. Chosen on a validation split.
  public var roleOffsets: [Double] = []

  public init() {}
}

/// The result of a one-shot run.
public struct OneShotSummary: Sendable, Codable {
  public var method: String
  public var pattern: String
  public var allocation: String
  public var withinLayer: String
  public var roleOffsets: [Double]
  public var calibrationTexts: Int
  public var calibrationTokens: Int
  /// Target and obtained sparsity per encoder layer.
  public var layerTargets: [Double]
  public var layerSparsities: [Double]
  /// OWL's outlier ratio per layer (owl only).
  public var outlierRatios: [Double]?
  /// Zero fraction over the pruned Linear weights.
  public var sparsity: Double
  public var prunedWeights: Int
  /// Wall clock of the pruning from dense weights: calibration capture, per-layer forwards,
  /// statistics and pruning (not model load, tokenisation or evaluation). Seconds.
  public var seconds: Double
  /// Peak resident memory of the process during the pruning (the loaded model included) and the
  /// model's weight bytes (Float32 initializers), when /proc tells it.
  public var peakMemoryBytes: Int?
  public var weightBytes: Int
  public var report: OneShotReport
}

public enum OneShotRecipe {
  /// Calibration batches of `texts` for `graph`: tokenized, sorted by length and cut into batches of
  /// about `tokensPerBatch` padded tokens, so that little padding is computed (and none is counted).
  public static func calibrationBatches(
    texts: [String], tokenizer: WordPieceTokenizer, maxLength: Int, graph: Graph, tokensPerBatch: Int = 2048
  ) throws -> [CalibrationBatch] {
    let required = Set(graph.inputs.filter { graph.initializers[$0.name] == nil }.map(\.name))
    let encodings = texts.map { tokenizer.encodeOne($0, maxLength: maxLength).ids.count }
    let order = texts.indices.sorted { encodings[$0] != encodings[$1] ? encodings[$0] < encodings[$1] : $0 < $1 }
    var batches: [CalibrationBatch] = []
    var start = 0
    while start < order.count {
      var end = start + 1
      while end < order.count && (end - start + 1) * encodings[order[end]] <= tokensPerBatch { end += 1 }
      let encoding = tokenizer.encode(order[start..<end].map { texts[$0] }, maxLength: maxLength)
      let inputs = encoding.graphInputs
      for name in required where inputs[name] == nil {
        throw PruningError.invalidArgument(
          what: "calibration inputs", expected: "graph inputs a BERT tokenizer gives (input_ids, attention_mask, token_type_ids)",
          found: "the model also needs '\(name)'")
      }
      batches.append(
        CalibrationBatch(
          inputs: inputs.filter { required.contains($0.key) }, realTokens: encoding.attentionMask.int64s.map { $0 != 0 }))
      start = end
    }
    return batches
  }

  /// Prunes `graph` in place; times the pruning itself (`OneShotSummary.seconds`).
  public static func prune(
    _ graph: inout Graph, batches: [CalibrationBatch], options: OneShotOptions, texts: Int,
    progress: SequentialPruner.Progress? = nil
  ) throws -> OneShotSummary {
    let entry = try CriterionRegistry.named(options.method)
    guard let make = entry.layerwise else {
      throw PruningError.invalidArgument(
        what: "--method \(options.method) with --calib", expected: "a layer-wise criterion (\(CriterionRegistry.all.filter { $0.layerwise != nil }.map(\.name).joined(separator: ", ")))",
        found: "'\(options.method)'")
    }
    let criterion = make()
    if graph.storesOtherFloatTypes { graph = graph.computingInFloat32() }
    let weightBytes = graph.initializers.values.reduce(0) { $0 + ($1.dtype == .float32 ? 4 * $1.count : 0) }
    let measuresPeak = ProcessMemory.resetPeak()
    let start = Date()
    let pruner = try SequentialPruner(graph: graph)
    let base: LayerTarget
    switch options.pattern {
    case .unstructured: base = .sparsity(options.sparsity)
    case .nOfM(let n, let m): base = .nOfM(n: n, m: m)
    case .block:
      throw PruningError.invalidArgument(
        what: "--block with one-shot methods", expected: "unstructured or N:M (--pattern)", found: "a block pattern")
    }
    var targets = [base]
    var ratios: [Double]? = nil
    if options.allocation == .owl {
      guard case .sparsity(let s) = base else {
        throw PruningError.invalidArgument(
          what: "--allocation owl", expected: "unstructured sparsity (N:M fixes every layer's sparsity)",
          found: "pattern \(options.pattern)")
      }
      progress?("OWL outlier ratios (dense pass)", 0, 1)
      let r = try pruner.outlierRatios(graph: graph, batches: batches, threshold: options.owlThreshold)
      let sizes = pruner.layers.map { $0.linears.reduce(0) { $0 + $1.inFeatures * $1.outFeatures } }
      targets = try OutlierAllocation.sparsities(outlierRatios: r, sizes: sizes, target: s, lambda: options.owlLambda)
        .map { .sparsity($0) }
      ratios = r
    }
    let report = try pruner.prune(
      &graph, batches: batches, criterion: criterion, targets: targets, withinLayer: options.withinLayer,
      roleOffsets: options.roleOffsets, progress: progress)
    let seconds = Date().timeIntervalSince(start)
    let peak = measuresPeak ? ProcessMemory.peakBytes : nil
    return OneShotSummary(
      method: options.method, pattern: options.pattern.description, allocation: options.allocation.rawValue,
      withinLayer: options.withinLayer.rawValue, roleOffsets: options.roleOffsets,
      calibrationTexts: texts, calibrationTokens: report.calibrationTokens, layerTargets: report.layers.map(\.target),
      layerSparsities: report.layers.map(\.sparsity), outlierRatios: ratios, sparsity: report.sparsity,
      prunedWeights: report.prunedWeights, seconds: seconds, peakMemoryBytes: peak, weightBytes: weightBytes,
      report: report)
  }
}
