import ModelGraph
import Testing

@testable import Pruning
@testable import TensorCore

@Suite struct ScheduleTests {
  @Test func cubicScheduleValues() {
    let s = CubicSparsitySchedule(
      initialSparsity: 0, finalSparsity: 0.9, startStep: 0, frequency: 10, updates: 10)
    #expect(s.sparsity(at: 0) == 0)
    #expect(abs(s.sparsity(at: 50) - 0.7875) < 1e-12)  // 0.9 − 0.9·0.5³
    #expect(abs(s.sparsity(at: 25) - 0.5203125) < 1e-12)  // 0.9 − 0.9·0.75³
    #expect(s.sparsity(at: 100) == 0.9)
    #expect(s.sparsity(at: 1000) == 0.9)
    #expect(s.isUpdateStep(30) && !s.isUpdateStep(35) && !s.isUpdateStep(110))
    let values = (0...120).map { s.sparsity(at: $0) }
    #expect(zip(values, values.dropFirst()).allSatisfy { $0 <= $1 })
    let late = CubicSparsitySchedule(
      initialSparsity: 0.2, finalSparsity: 0.8, startStep: 100, frequency: 5, updates: 4)
    #expect(late.sparsity(at: 50) == 0.2)
    #expect(abs(late.sparsity(at: 110) - (0.8 - 0.6 * 0.125)) < 1e-12)
  }

  @Test func gradualPrunerFollowsTheScheduleFromAHook() throws {
    var graph = tinyMLP()
    let schedule = CubicSparsitySchedule(finalSparsity: 0.75, startStep: 10, frequency: 10, updates: 4)
    var pruner = GradualPruner(schedule: schedule, builder: MaskBuilder(criterion: MagnitudeImportance()))
    var seen: [Double] = []
    for step in 0...60 {
      if try pruner.step(&graph, step: step) { seen.append(graph.sparsity(of: ["w1", "w2"])) }
    }
    #expect(pruner.history.map(\.step) == [10, 20, 30, 40, 50])
    #expect(zip(seen, seen.dropFirst()).allSatisfy { $0 <= $1 })
    #expect(graph.keptFractions(of: ["w1", "w2"]) == ["w1": 0.25, "w2": 0.25])
  }

  @Test func hanThresholdRule() {
    let w = Tensor(shape: [8], floats: [-3, -1, 0, 1, 2, 3, 0.5, -0.5])
    let sigma = HanIterativePruning.standardDeviation(w.floats)
    // mean 0.25, E[w²] = 24.5/8 → σ² = 3.0625 − 0.0625 = 3
    #expect(abs(sigma - 3.0.squareRoot()) < 1e-9)
    let mask = HanIterativePruning.mask(weights: w, sigma: sigma, quality: 1.0, previous: nil)
    #expect(mask.floats == [1, 0, 0, 0, 1, 1, 0, 0])  // |w| > 1.732
    let previous = Tensor(shape: [8], floats: [0, 1, 1, 1, 1, 1, 1, 1])
    #expect(
      HanIterativePruning.mask(weights: w, sigma: sigma, quality: 0.5, previous: previous).floats == [
        0, 1, 0, 1, 1, 1, 0, 0,
      ])
    let q = HanIterativePruning.quality(forKept: 0.25, weights: Tensor.normal([1000], seed: 1).floats)
    let t = Tensor.normal([1000], seed: 1)
    let kept = HanIterativePruning.mask(
      weights: t, sigma: HanIterativePruning.standardDeviation(t.floats), quality: q, previous: nil)
    #expect(abs(kept.floats.reduce(0, +) / 1000 - 0.25) < 0.002)
  }

  @Test func hanIterationPrunesRetrainsAndHoldsMasks() throws {
    var graph = tinyMLP()
    let dense = graph
    var rounds: [Int] = []
    var recovery = RecoveryClosure { g, round in
      rounds.append(round)
      // A "retraining" that moves every weight, pruned ones included: the schedule must re-zero them.
      for name in ["w1", "w2"] {
        g.initializers[name]!.floats = g.initializers[name]!.floats.map { $0 + 0.001 }
      }
    }
    let han = HanIterativePruning(qualities: ["w1": 1.5], defaultQuality: 0.5, rounds: 3)
    let reports = try han.run(&graph, recovery: &recovery, evaluate: { _ in 0.5 })
    #expect(rounds == [0, 1, 2])
    #expect(reports.count == 3 && reports.allSatisfy { $0.quality == 0.5 })
    #expect(zip(reports, reports.dropFirst()).allSatisfy { $0.sparsity <= $1.sparsity })
    for name in ["w1", "w2"] {
      let mask = graph.masks[name]!.floats
      let w = graph.initializers[name]!.floats
      for i in w.indices where mask[i] == 0 { #expect(w[i] == 0) }
    }
    // Round 0 of w1 used 1.5/3 · σ on the dense weights: everything below stays pruned.
    let w1 = dense.initializers["w1"]!.floats
    let sigma = HanIterativePruning.standardDeviation(w1)
    for i in w1.indices where abs(w1[i]) <= Float(0.5 * sigma) { #expect(graph.masks["w1"]!.floats[i] == 0) }
    #expect(reports[2].kept["w1"]! < reports[2].kept["w2"]!)
  }

  @Test func lotteryTicketRewindsSurvivors() throws {
    var graph = tinyMLP()
    let ticket = try LotteryTicket(saving: graph, parameters: ["w1", "w2"])
    var train = RecoveryClosure { g, _ in
      for name in ["w1", "w2"] {
        g.initializers[name]!.floats = g.initializers[name]!.floats.map { $0 * 3 + 0.01 }
      }
    }
    let reports = try ticket.iterate(&graph, train: &train, rounds: 2, ratePerRound: 0.5)
    #expect(abs(reports[1].sparsity - 0.75) < 0.02)
    let early = tinyMLP()
    for name in ["w1", "w2"] {
      let mask = graph.masks[name]!.floats
      let w = graph.initializers[name]!.floats
      let e = early.initializers[name]!.floats
      for i in w.indices { #expect(w[i] == (mask[i] == 1 ? e[i] : 0)) }
    }
  }

  @Test func sensitivityCurvesAndAllocationMeetTheTarget() throws {
    // Quality falls with the fraction of w1 pruned (×1) and of w2 pruned (×0.1): w1 is sensitive.
    var evaluator = EvaluatorClosure { g in
      let z = 1 - g.keptFractions(of: ["w1", "w2"]).mapValues { $0 }["w1"]!
      let z2 = 1 - g.keptFractions(of: ["w1", "w2"])["w2"]!
      return 1 - z * z - 0.1 * z2 * z2
    }
    let report = try SensitivityAnalysis(sparsities: [0, 0.25, 0.5, 0.75, 0.9])
      .run(tinyMLP(), evaluator: &evaluator, macs: ["w1": 48, "w2": 24])
    #expect(report.baseline == 1)
    #expect(report.curves.map(\.layer) == ["w1", "w2"])
    #expect(abs(report.curves[0].quality[2] - 0.75) < 1e-9)
    #expect(abs(report.curves[1].quality[2] - 0.975) < 1e-9)
    let allocation = try SparsityAllocator().allocate(report, target: .sparsity(0.5))
    #expect(allocation.achieved >= 0.5)
    #expect(allocation.sparsities["w2"]! >= allocation.sparsities["w1"]!)
    // Brute force over the grid: no cheaper allocation meets the target.
    let grid = [0, 0.25, 0.5, 0.75, 0.9]
    var best = Double.infinity
    for a in grid.indices {
      for b in grid.indices where (grid[a] * 48 + grid[b] * 24) / 72 >= 0.5 - 1e-12 {
        best = min(best, (1 - report.curves[0].quality[a]) + (1 - report.curves[1].quality[b]))
      }
    }
    #expect(abs(allocation.predictedLoss - best) < 1e-9)
    let byMACs = try SparsityAllocator().allocate(report, target: .macs(0.3))
    #expect(byMACs.achieved >= 0.3)
    var graph = tinyMLP()
    try pruneLayers(&graph, sparsities: allocation.sparsities)
    let params = Double(48 + 24)
    let removed =
      (1 - graph.keptFractions(of: ["w1"])["w1"]!) * 48 + (1 - graph.keptFractions(of: ["w2"])["w2"]!) * 24
    #expect(removed / params >= 0.5 - 1e-9)
    #expect(throws: PruningError.self) { try SparsityAllocator().allocate(report, target: .sparsity(0.95)) }
  }
}
