import Foundation
import ModelGraph
import Pruning
import Report
import Runtime
import TensorCore

/// The planned model beside the allocations it must beat at the same *measured* latency: uniform
/// magnitude (one sparsity for every layer), uniform channels (one cut ratio for every channel/head
/// group the table offers cuts of: structured pruning's uniform baseline) and sensitivity-by-sparsity
/// (the least-loss per-layer sparsities for a weight budget, `SparsityAllocator`, from the same
/// validation losses). Each baseline's sparsity, ratio or weight budget is found by bisection on the
/// whole model's measured latency until it is no slower than the planned model; all are reported on
/// the test data.
public struct PlanComparison {
  public struct Row: Codable, Sendable {
    public var method: String
    public var target: String
    public var measuredMilliseconds: Double
    public var predictedMilliseconds: Double?
    public var speedup: Double
    /// On the reporting data (test accuracy or evaluation fidelity).
    public var quality: Double
    /// Non-zero fraction of the prunable weights left, relative to the dense model's count.
    public var kept: Double
    public var detail: String
  }

  public var planner: HardwareAwarePlanner
  public var setup: PlanningSetup
  /// Bisection steps per baseline.
  public var steps = 7
  public var log: (String) -> Void = { _ in }

  public init(planner: HardwareAwarePlanner, setup: PlanningSetup) {
    self.planner = planner
    self.setup = setup
  }

  var threads: Int { planner.measurer.options.threads }

  func latency(_ graph: Graph) throws -> (median: Double, p99: Double, runs: Int) {
    try HardwareAwarePlanner.measure(graph, inputs: setup.inputs, threads: threads, minimumSeconds: 0.25)
  }

  /// The smallest setting in [0, upper] whose model runs no slower than `goal` seconds (bisection on
  /// measured latency; the upper end when even it is slower).
  func match(goal: Double, upper: Double, build: (Double) throws -> Graph) throws
    -> (Double, Graph, (median: Double, p99: Double, runs: Int))
  {
    var (low, high) = (0.0, upper)
    var best = try build(high)
    var bestSeconds = try latency(best)
    guard bestSeconds.median <= goal else { return (high, best, bestSeconds) }
    for _ in 0..<steps {
      let mid = (low + high) / 2
      let g = try build(mid)
      let t = try latency(g)
      if t.median <= goal {
        (high, best, bestSeconds) = (mid, g, t)
      } else {
        low = mid
      }
    }
    return (high, best, bestSeconds)
  }

  /// Rows for the planned model and the baselines, and their run records.
  public func run(planned: HardwareAwarePlanner.Result, table: CostTable, baseline: Double, target: String)
    throws -> [(Row, RunRecord)]
  {
    guard let report = setup.report else {
      throw PruningError.invalidArgument(what: "comparison", expected: "reporting data", found: "none")
    }
    let dense = planner.measurer.graph
    let weights = table.layers.map(\.layer)
    let denseCount = weights.reduce(0) { $0 + (dense.initializers[$1]?.count ?? 0) }
    func kept(_ g: Graph) -> Double {
      let nonzero = weights.reduce(0) { sum, w in sum + (g.initializers[w]?.floats.reduce(0) { $0 + ($1 != 0 ? 1 : 0) } ?? 0) }
      return Double(nonzero) / Double(max(denseCount, 1))
    }
    let goal = planned.measured.median
    var rows: [(Row, RunRecord)] = []
    func add(_ method: String, _ g: Graph, _ seconds: (median: Double, p99: Double, runs: Int), predicted: Double?, _ detail: String) throws {
      log("evaluating \(method) on the reporting data")
      let q = try report.score(g)
      let row = Row(
        method: method, target: target, measuredMilliseconds: seconds.median * 1e3,
        predictedMilliseconds: predicted.map { $0 * 1e3 }, speedup: table.denseSeconds / seconds.median,
        quality: q.value, kept: kept(g), detail: detail)
      var r = try record(row, score: q, graph: g, seconds: seconds, table: table)
      if predicted != nil {
        r.prediction = .init(
          milliseconds: planned.allocation.predictedSeconds * 1e3, target: target,
          targetMilliseconds: planned.attempts.first?.budgetMilliseconds, loss: planned.allocation.predictedLoss,
          attempts: planned.attempts)
      }
      rows.append((row, r))
    }
    try add(
      "latency-aware", planned.graph, planned.measured, predicted: planned.allocation.predictedSeconds,
      planner.choices(table, planned.allocation.choice).sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
        .joined(separator: "; "))
    log("uniform magnitude: matching \(String(format: "%.4g", goal * 1e3)) ms")
    let (s, uniform, uniformSeconds) = try match(goal: goal, upper: 0.99) { s in
      var g = dense
      try pruneUnstructured(&g, builder: MaskBuilder(criterion: MagnitudeImportance()), sparsity: s)
      return g
    }
    try add("uniform magnitude", uniform, uniformSeconds, predicted: nil, String(format: "every layer %.1f%%", 100 * s))
    // Structured pruning's own uniform baseline: one channel/head ratio for every group the table
    // offers cuts of, up to the deepest ratio offered.
    let cuttable = table.layers.filter { $0.options.contains { $0.candidate.kind == .channels } }.map(\.layer)
    let deepest = table.layers.flatMap(\.options).compactMap { $0.candidate.kind == .channels ? $0.candidate.ratio : nil }
      .max()
    if !cuttable.isEmpty, let deepest {
      log("uniform channels: matching \(String(format: "%.4g", goal * 1e3)) ms")
      let (r, cut, cutSeconds) = try match(goal: goal, upper: deepest) { r in
        var g = dense
        if r > 0 {
          try applyCandidates(Dictionary(uniqueKeysWithValues: cuttable.map { ($0, PruningCandidate.channels(r)) }), to: &g)
        }
        return g
      }
      try add(
        "uniform channels", cut, cutSeconds, predicted: nil,
        String(format: "%.1f%% of every channel/head group of %d layers cut", 100 * r, cuttable.count))
    }
    log("sensitivity by sparsity: matching \(String(format: "%.4g", goal * 1e3)) ms")
    let curves = Self.sensitivityReport(table, baseline: baseline, graph: dense)
    let most = curves.curves.reduce(0.0) { $0 + Double($1.parameters) * ($1.sparsities.max() ?? 0) }
      / Double(max(curves.curves.reduce(0) { $0 + $1.parameters }, 1))
    var allocation: [String: Double] = [:]
    // Just below the most the grid reaches (the allocator's bucket rounding refuses the exact maximum).
    let (t, sensitive, sensitiveSeconds) = try match(goal: goal, upper: most * 0.999) { t in
      var g = dense
      allocation = try SparsityAllocator().allocate(curves, target: .sparsity(t)).sparsities
      try pruneLayers(&g, sparsities: allocation)
      return g
    }
    try add(
      "sensitivity by sparsity", sensitive, sensitiveSeconds, predicted: nil,
      String(format: "%.1f%% of the weights: ", 100 * t)
        + allocation.sorted { $0.key < $1.key }.map { String(format: "%@ %.0f%%", $0.key, 100 * $0.value) }
        .joined(separator: ", "))
    return rows
  }

  /// Sensitivity curves read off the cost table's unstructured candidates (the same validation losses).
  static func sensitivityReport(_ table: CostTable, baseline: Double, graph: Graph) -> SensitivityReport {
    let macs = (try? graph.macsByWeight(inputShapes: graph.inputShapes(sizes: graph.symbolicSizes()))) ?? [:]
    return SensitivityReport(
      baseline: baseline,
      curves: table.layers.map { layer in
        let levels = layer.options.filter { $0.candidate.kind == .unstructured }
        return SensitivityCurve(
          layer: layer.layer, parameters: graph.initializers[layer.layer]?.count ?? 0, macs: macs[layer.layer] ?? 0,
          sparsities: [0] + levels.map { $0.candidate.sparsity! }, quality: [baseline] + levels.map { baseline - $0.loss })
      })
  }

  func record(
    _ row: Row, score: QualityScore, graph: Graph, seconds: (median: Double, p99: Double, runs: Int), table: CostTable
  ) throws -> RunRecord {
    let cost = try graph.costs(inputShapes: setup.inputs.mapValues(\.shape))
    var r = RunRecord(
      label: "\(row.method) \(row.target)",
      model: .init(
        path: "(in memory: \(row.method))", format: "onnx", sizeBytes: cost.totals.weightBytes,
        parameters: cost.totals.parameters, nonzeroParameters: cost.totals.nonzeroParameters, macs: cost.totals.macs,
        macsInput: setup.timingInputs))
    let pattern = ["latency-aware": "mixed", "uniform channels": "structured"][row.method] ?? "unstructured"
    r.recipe = .init(method: row.method, pattern: pattern)
    if setup.metric == "accuracy" {
      r.accuracy = .init(top1: row.quality)
    } else {
      r.fidelity = .init(mean: score.value, min: score.minimum ?? score.value, count: score.count)
    }
    r.latency = .init(
      batch: table.batch, threads: table.threads, p50Milliseconds: seconds.median * 1e3,
      p99Milliseconds: seconds.p99 * 1e3, runs: seconds.runs, cpu: table.cpu)
    r.dense = .init(path: "dense", p50Milliseconds: table.denseSeconds * 1e3)
    r.notes = [row.detail, "quality: \(setup.report?.name ?? "")", "timing inputs: \(setup.timingInputs)"]
    return r
  }
}
