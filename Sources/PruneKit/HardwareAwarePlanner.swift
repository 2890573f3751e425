import Foundation
import ModelGraph
import Pruning
import Report
import Runtime
import TensorCore

/// A quality figure: the value (accuracy, mean fidelity), its worst case where there is one (the
/// least cosine), over `count` samples.
public struct QualityScore: Sendable, Equatable {
  public var value: Double
  public var minimum: Double?
  public var count: Int

  public init(value: Double, minimum: Double? = nil, count: Int) {
    self.value = value
    self.minimum = minimum
    self.count = count
  }
}

/// What a plan minimises the loss of: a quality measured on held-out data (higher is better).
public struct QualityProbe {
  /// e.g. "validation accuracy (last 10 % of train, 2000 images)".
  public var name: String
  public var score: (Graph) throws -> QualityScore

  public init(name: String, score: @escaping (Graph) throws -> QualityScore) {
    self.name = name
    self.score = score
  }

  public func evaluate(_ graph: Graph) throws -> Double { try score(graph).value }
}

/// Hardware-aware pruning: a measured cost table, per-candidate losses from the quality probe, a
/// multiple-choice knapsack for the budget, and a check by re-measuring the whole planned model.
///
/// The check closes the loop NetAdapt-style: when the planned model, measured whole, misses the
/// target by more than `tolerance` (or beats it by more than twice that, giving away accuracy), the
/// knapsack budget is scaled by target / measured and solved again (at most `attempts` times); the
/// plan kept is the least predicted loss among those measured within the target, and every attempt's
/// predicted and measured latency is recorded.
public struct HardwareAwarePlanner {
  public var measurer: LayerCostMeasurer
  public var quality: QualityProbe
  /// Accept a plan whose measured latency is within this fraction above the target.
  public var tolerance = 0.03
  public var attempts = 4
  /// Rounds of in-context loss refinement of each knapsack plan (`refined`); 0 keeps the losses
  /// measured one candidate at a time.
  public var refinements = 2
  public var log: (String) -> Void = { _ in }

  public init(measurer: LayerCostMeasurer, quality: QualityProbe) {
    self.measurer = measurer
    self.quality = quality
  }

  /// Median seconds per run of the whole model on `inputs`, with the kernels a load picks.
  public static func measure(_ graph: Graph, inputs: [String: Tensor], threads: Int, minimumSeconds: Double = 0.5)
    throws -> (median: Double, p99: Double, runs: Int)
  {
    var options = SparseKernelSelector.Options()
    options.threads = threads
    let selector = SparseKernelSelector(
      graph: graph, inputShapes: inputs.mapValues(\.shape), sample: inputs, options: options)
    let executor = try Executor(graph: graph, selector: selector)
    let runs = try ModelBenchmark.time(executor, inputs, minimumRuns: 20, minimumSeconds: minimumSeconds)
    return (ModelBenchmark.percentile(runs, 0.5), ModelBenchmark.percentile(runs, 0.99), runs.count)
  }

  /// Every node the executor runs (after fusion), by name: its median seconds per run inside the whole
  /// model (from the previous node's end to its own, over ≥ 20 runs and ≥ 0.3 s) and its output shapes.
  static func nodeTimes(_ graph: Graph, inputs: [String: Tensor], threads: Int) throws
    -> [String: (seconds: Double, shapes: [[Int]])]
  {
    var options = SparseKernelSelector.Options()
    options.threads = threads
    let selector = SparseKernelSelector(
      graph: graph, inputShapes: inputs.mapValues(\.shape), sample: inputs, options: options)
    let executor = try Executor(graph: graph, selector: selector)
    var shapes: [String: [[Int]]] = [:]
    _ = try executor.run(inputs) { node, outputs in shapes[node.name] = outputs.map(\.shape) }
    var samples: [String: [Double]] = [:]
    let start = DispatchTime.now().uptimeNanoseconds
    var runs = 0
    while runs < 20 || Double(DispatchTime.now().uptimeNanoseconds - start) < 0.3e9 {
      var per: [String: Double] = [:]
      var last = DispatchTime.now().uptimeNanoseconds
      _ = try executor.run(inputs) { node, _ in
        let now = DispatchTime.now().uptimeNanoseconds
        per[node.name, default: 0] += Double(now - last) / 1e9
        last = now
      }
      for (name, t) in per { samples[name, default: []].append(t) }
      runs += 1
      if runs >= 10_000 { break }
    }
    return samples.reduce(into: [:]) { result, entry in
      result[entry.key] = (ModelBenchmark.percentile(entry.value, 0.5), shapes[entry.key] ?? [])
    }
  }

  /// The layer (node name in `layers`) an executed node belongs to: the layer itself or a node the
  /// fusion made from it (`name/…`); nil for ops that are no layer.
  static func layer(owning name: String, in layers: [String]) -> String? {
    layers.first { name == $0 || name.hasPrefix($0 + "/") }
  }

  /// What a cut changes in the time of the ops that are no measured layer (pooling, activations,
  /// softmax, attention products, normalisation): Σ over the nodes whose output shape the cut changed
  /// (or that exist in one model only) of their in-model time in `cut` less that in the dense model.
  /// Nodes the cut leaves alone are not counted, so their timing noise does not enter.
  static func surroundingSeconds(
    dense: [String: (seconds: Double, shapes: [[Int]])], cut: [String: (seconds: Double, shapes: [[Int]])],
    layers: [String]
  ) -> Double {
    var delta = 0.0
    for name in Set(dense.keys).union(cut.keys) where layer(owning: name, in: layers) == nil {
      let before = dense[name]
      let after = cut[name]
      guard before?.shapes != after?.shapes else { continue }
      delta += (after?.seconds ?? 0) - (before?.seconds ?? 0)
    }
    return delta
  }

  /// The cost table with every candidate's predicted loss (baseline − quality with that candidate
  /// alone, at least 0; unstructured levels made non-decreasing in sparsity), and the baseline.
  public func costTable(batch: Int) throws -> (table: CostTable, baseline: Double) {
    let graph = measurer.graph
    log("timing the dense model")
    let dense = try Self.measure(graph, inputs: measurer.inputs, threads: measurer.options.threads)
    log("timing \(measurer.layers.count) layers' candidates (cached per CPU)")
    var layers = try measurer.measure { done, total in self.log("  layer \(done)/\(total) timed") }
    // One-node timings miss what a layer costs inside the model (fused epilogues, caches warm or cold):
    // each layer's options are scaled by its dense time in the whole model over its one-node time.
    let denseNodes = try Self.nodeTimes(graph, inputs: measurer.inputs, threads: measurer.options.threads)
    let layerNodes = layers.map(\.node)
    var inGraph: [String: Double] = [:]
    for (name, node) in denseNodes {
      if let layer = Self.layer(owning: name, in: layerNodes) { inGraph[layer, default: 0] += node.seconds }
    }
    for l in layers.indices {
      guard let t = inGraph[layers[l].node], t > 0, layers[l].options[0].seconds > 0 else { continue }
      let scale = min(4, max(0.25, t / layers[l].options[0].seconds))
      layers[l].inGraphScale = scale
      for o in layers[l].options.indices {
        layers[l].options[o].seconds *= scale
        layers[l].options[o].cut?.ownSeconds *= scale
      }
    }
    try addSurroundings(&layers, denseNodes: denseNodes)
    let baseline = try quality.evaluate(graph)
    log(String(format: "%@ of the dense model: %.4f", quality.name, baseline))
    for l in layers.indices {
      var running = 0.0
      for o in layers[l].options.indices {
        let candidate = layers[l].options[o].candidate
        guard candidate.kind != .dense else { continue }
        var trial = graph
        try applyCandidates([layers[l].layer: candidate], to: &trial)
        var loss = max(0, baseline - (try quality.evaluate(trial)))
        if candidate.kind == .unstructured {
          loss = max(loss, running)
          running = loss
        }
        layers[l].options[o].loss = loss
      }
      log("  layer \(l + 1)/\(layers.count) losses measured")
    }
    let denseJoules = try modelledJoules(graph)
    return (
      CostTable(
        cpu: KernelChoiceCache.cpuModel, batch: batch, threads: measurer.options.threads, denseSeconds: dense.median,
        denseJoules: denseJoules, layers: layers),
      baseline
    )
  }

  /// Completes every channel cut's timing with what it changes outside the measured layers, timed
  /// inside the whole cut model (once per layer and ratio), and re-prices the cut as `CutTiming` says:
  /// own time + Σ (scale − 1) × member's dense time + surrounding change.
  func addSurroundings(_ layers: inout [LayerCosts], denseNodes: [String: (seconds: Double, shapes: [[Int]])]) throws {
    let layerNodes = layers.map(\.node)
    let denseSeconds = Dictionary(layers.map { ($0.layer, $0.options[0].seconds) }, uniquingKeysWith: { a, _ in a })
    for l in layers.indices {
      var byRatio: [Double: Double] = [:]
      for o in layers[l].options.indices {
        guard var cut = layers[l].options[o].cut, let ratio = layers[l].options[o].candidate.ratio else { continue }
        if byRatio[ratio] == nil {
          let model = try measurer.cutGraph(layers[l].layer, ratio: ratio).graph
          let nodes = try Self.nodeTimes(model, inputs: measurer.inputs, threads: measurer.options.threads)
          byRatio[ratio] = Self.surroundingSeconds(dense: denseNodes, cut: nodes, layers: layerNodes)
          log(
            String(
              format: "  %@ cut %.0f%%: ops around it %+.4g ms", layers[l].node, 100 * ratio, byRatio[ratio]! * 1e3))
        }
        cut.surroundingSeconds = byRatio[ratio]!
        layers[l].options[o].cut = cut
        // May be negative: a cut can save more in the layers and ops it narrows than its layer costs.
        layers[l].options[o].seconds =
          cut.ownSeconds + cut.surroundingSeconds
          + cut.memberScales.reduce(0) { $0 + ($1.value - 1) * (denseSeconds[$1.key] ?? 0) }
      }
    }
  }

  /// Modelled joules of one dense run of the whole graph at the timing inputs' shapes.
  func modelledJoules(_ graph: Graph) throws -> Double {
    let cost = try graph.costs(inputShapes: measurer.inputs.mapValues(\.shape))
    return measurer.options.energy.run(cost, storage: .dense).total.joules
  }

  /// One plan tried: the knapsack's budget, the table's prediction, the whole model measured (the
  /// planned model's run record carries the same values).
  public typealias Attempt = RunRecord.PlanAttempt

  public struct Result {
    public var allocation: LatencyAwareAllocator.Allocation
    public var graph: Graph
    public var measured: (median: Double, p99: Double, runs: Int)
    public var attempts: [Attempt]
  }

  /// Allocates for `budget`, applies, re-measures, and re-solves with a scaled budget while the
  /// measured latency misses the target by more than `tolerance`. Energy budgets are modelled and
  /// not re-measured (one attempt).
  public func plan(_ table: CostTable, budget: LatencyAwareAllocator.Budget) throws -> Result {
    let target: Double? = budget.isEnergy ? nil : budget.limit(in: table)
    var current = budget
    var history: [Attempt] = []
    var best: Result?
    var lastFraction = -1.0
    // Options a chosen channel cut makes unusable (a 2:4 or block pattern on an input width the cut
    // leaves undivisible) are made dominated here, so the knapsack sees only what can be applied.
    var working = table
    for attempt in 0..<(target == nil ? 1 : attempts) {
      var allocation: LatencyAwareAllocator.Allocation
      var graph: Graph
      do {
        (allocation, graph) = try allocateApplicable(&working, budget: current)
        if refinements > 0 { (allocation, graph) = try refined((allocation, graph), table: &working, budget: current) }
      } catch where attempt > 0 {
        log("re-solving with a tighter budget is not possible: \(error); keeping the closest plan")
        break
      }
      let measured = try Self.measure(graph, inputs: measurer.inputs, threads: measurer.options.threads)
      let budgetSeconds = current.isEnergy ? allocation.predictedSeconds : current.limit(in: table)
      history.append(
        Attempt(
          budgetMilliseconds: budgetSeconds * 1e3, predictedMilliseconds: allocation.predictedSeconds * 1e3,
          measuredMilliseconds: measured.median * 1e3))
      log(
        String(
          format: "attempt %d: predicted %.4g ms, measured %.4g ms (target %@)", attempt + 1,
          allocation.predictedSeconds * 1e3, measured.median * 1e3,
          target.map { String(format: "%.4g ms", $0 * 1e3) } ?? "energy"))
      let result = Result(allocation: allocation, graph: graph, measured: measured, attempts: history)
      guard let target else { return result }
      // Best: the least predicted loss among plans that meet the target; until one does, the fastest.
      let meets = measured.median <= target * (1 + tolerance)
      let bestMeets = best.map { $0.measured.median <= target * (1 + tolerance) } ?? false
      if best == nil || (meets && (!bestMeets || allocation.predictedLoss < best!.allocation.predictedLoss))
        || (!meets && !bestMeets && measured.median < best!.measured.median)
      {
        best = result
      }
      // Close enough on both sides: stop. Otherwise the table was off by measured / predicted: scale the
      // knapsack's budget by target / measured (tighter when slow, looser when needlessly fast), but
      // never below the fastest plan the table has, which is then tried as it is.
      if meets && measured.median >= target * (1 - 2 * tolerance) { break }
      let floor = Self.fastestPredicted(working) / table.denseSeconds
      let fraction = min(1, max(floor * (1 + 1e-9), (budgetSeconds / table.denseSeconds) * target / measured.median))
      if abs(fraction - lastFraction) < 1e-9 || abs(fraction - budgetSeconds / table.denseSeconds) < 1e-9 { break }
      lastFraction = fraction
      current = .latency(fraction: fraction)
    }
    guard var result = best else { throw PruningError.callbackFailed(what: "planning", reason: "no attempt ran") }
    result.attempts = history
    if let target, result.measured.median > target * (1 + tolerance) {
      log(
        String(
          format: "target missed: the fastest plan tried measured %.4g ms (%.2f× of the %.2f× asked, %.1f%% short); "
            + "the table's fastest plan predicts %.2f×", result.measured.median * 1e3,
          table.denseSeconds / result.measured.median, table.denseSeconds / target,
          100 * (1 - target / result.measured.median), table.denseSeconds / Self.fastestPredicted(working)))
    }
    return result
  }

  /// Predicted seconds of the fastest choice in `table` (every layer's cheapest option).
  static func fastestPredicted(_ table: CostTable) -> Double { table.fastest.seconds }

  /// The allocation for `budget` and the graph with it applied. A N:M or block candidate on a layer
  /// whose input a chosen channel cut of another layer narrowed to a width the pattern does not divide
  /// (2:4 on 75 inputs) is made dominated in `table` (the layer's slowest time and most energy, more
  /// than its largest loss) and the knapsack solved again, so the plan returned is applicable and its prediction is
  /// what was applied.
  func allocateApplicable(_ table: inout CostTable, budget: LatencyAwareAllocator.Budget) throws
    -> (LatencyAwareAllocator.Allocation, Graph)
  {
    let allocator = LatencyAwareAllocator()
    for _ in 0...table.layers.reduce(0, { $0 + $1.options.count }) {
      let allocation = try allocator.allocate(table, budget: budget)
      var graph = measurer.graph
      do {
        try applyCandidates(choices(table, allocation.choice), to: &graph)
        return (allocation, graph)
      } catch PruningError.unsupportedParameter(let name, let expected, _) where expected.hasPrefix("a shape that fits") {
        guard let l = table.layers.firstIndex(where: { $0.layer == name }) else { throw PruningError.missingParameter(name: name) }
        let o = allocation.choice[l]
        log("\(name): \(table.layers[l].options[o].candidate) does not fit after the channel cut of its input; solving again without it")
        table.layers[l].options[o].seconds = table.layers[l].options.map(\.seconds).max()!
        table.layers[l].options[o].joules = table.layers[l].options.map(\.joules).max()!
        table.layers[l].options[o].loss = table.layers[l].options.map(\.loss).max()! + 1
      }
    }
    throw PruningError.callbackFailed(what: "applying the plan", reason: "patterns kept not fitting")
  }

  /// Layer → candidate for one option index per layer (dense layers left out).
  public func choices(_ table: CostTable, _ choice: [Int]) -> [String: PruningCandidate] {
    var result: [String: PruningCandidate] = [:]
    for (layer, i) in zip(table.layers, choice) where layer.options[i].candidate.kind != .dense {
      result[layer.layer] = layer.options[i].candidate
    }
    return result
  }
}
