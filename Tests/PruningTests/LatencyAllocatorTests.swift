import ModelGraph
import Testing

@testable import Pruning
@testable import TensorCore

@Suite struct LatencyAllocatorTests {
  /// Random instances: `groups` groups of 1…`options` options, costs and losses in [0, 1).
  static func instance(seed: UInt64, groups: Int, options: Int) -> [[MultipleChoiceKnapsack.Option]] {
    var rng = SeededGenerator(seed: seed)
    return (0..<groups).map { _ in
      (0..<(1 + Int(rng.next() % UInt64(options)))).map { _ in
        MultipleChoiceKnapsack.Option(cost: Double(rng.nextUniform()), loss: Double(rng.nextUniform()))
      }
    }
  }

  /// The DP's loss lies between the exact optimum at the budget and the exact optimum at the budget
  /// less the stated discretisation error, and its choice is feasible in real costs.
  @Test(arguments: 1...40)
  func knapsackAgreesWithBruteForce(seed: Int) {
    let groups = Self.instance(seed: UInt64(seed), groups: 1 + seed % 5, options: 5)
    let total = groups.reduce(0) { $0 + ($1.map(\.cost).max() ?? 0) }
    for fraction in [0.2, 0.5, 0.8, 1.0] {
      let budget = fraction * total
      let exact = MultipleChoiceKnapsack.bruteForce(groups, budget: budget)
      let dp = MultipleChoiceKnapsack.solve(groups, budget: budget, buckets: 500)
      #expect((exact == nil) == (dp == nil), "seed \(seed) budget \(budget)")
      guard let exact, let dp else { continue }
      #expect(dp.cost <= budget + 1e-12)
      #expect(dp.loss >= exact.loss - 1e-12)
      let slack = MultipleChoiceKnapsack.discretisationError(groups, budget: budget, buckets: 500)
      if let tighter = MultipleChoiceKnapsack.bruteForce(groups, budget: budget - slack) {
        #expect(dp.loss <= tighter.loss + 1e-12, "seed \(seed): DP lost more than the rounding allows")
      }
    }
  }

  /// Costs on the bucket grid: the DP is exact.
  @Test(arguments: 1...20)
  func knapsackIsExactOnTheGrid(seed: Int) {
    var rng = SeededGenerator(seed: UInt64(seed) &+ 100)
    let groups = (0..<4).map { _ in
      (0..<3).map { _ in
        MultipleChoiceKnapsack.Option(cost: Double(rng.next() % 10), loss: Double(rng.nextUniform()))
      }
    }
    let floor = groups.reduce(0) { $0 + $1.map(\.cost).min()! }
    let budget = floor + 12
    let exact = MultipleChoiceKnapsack.bruteForce(groups, budget: budget)!
    let dp = MultipleChoiceKnapsack.solve(groups, budget: budget, buckets: 12)!
    #expect(abs(dp.loss - exact.loss) < 1e-12)
  }

  @Test func knapsackRefusesWhatCannotFit() {
    let groups = [[MultipleChoiceKnapsack.Option(cost: 2, loss: 0)], [.init(cost: 1, loss: 0), .init(cost: 3, loss: 0)]]
    #expect(MultipleChoiceKnapsack.solve(groups, budget: 2.9) == nil)
    #expect(MultipleChoiceKnapsack.solve(groups, budget: 3)?.choice == [0, 0])
  }

  /// Two layers of 1 ms each, 0.2 ms overhead. Layer a's cut saves 0.5 ms for 0.01 loss, layer b's the
  /// same 0.5 ms for 0.10: a 1.25× target (1.76 ms) needs one cut, and the allocator takes a's.
  static func fakeTable() -> CostTable {
    func layer(_ name: String, loss: Double) -> LayerCosts {
      LayerCosts(
        layer: name, node: name,
        options: [
          CostedCandidate(candidate: .dense, seconds: 1e-3, joules: 1e-6),
          CostedCandidate(candidate: .unstructured(0.9), seconds: 0.5e-3, joules: 0.4e-6, loss: loss),
          CostedCandidate(candidate: .channels(0.75), seconds: 0.2e-3, joules: 0.25e-6, loss: 0.5),
        ])
    }
    return CostTable(
      cpu: "test CPU", batch: 1, threads: 1, denseSeconds: 2.2e-3, denseJoules: 2.5e-6,
      layers: [layer("a", loss: 0.01), layer("b", loss: 0.10)])
  }

  @Test func allocatorPrefersTheCheaperPerLossCandidate() throws {
    let table = Self.fakeTable()
    #expect(abs(table.overheadSeconds - 0.2e-3) < 1e-12)
    let plan = try LatencyAwareAllocator().allocate(table, budget: .speedup(1.25))
    #expect(plan.choice == [1, 0])
    #expect(abs(plan.predictedSeconds - 1.7e-3) < 1e-12)
    #expect(abs(plan.predictedLoss - 0.01) < 1e-12)
    // 2× (1.1 ms): both at 90 % give 0.2 + 0.5 + 0.5 = 1.2 ms > 1.1, so one layer loses channels;
    // a's cheap 90 % stays and b takes the channel cut (0.2 + 0.5 + 0.2 = 0.9 ms, loss 0.51).
    let two = try LatencyAwareAllocator().allocate(table, budget: .latency(fraction: 0.5))
    #expect(two.choice == [1, 2])
    #expect(two.predictedSeconds <= 1.1e-3 + 1e-12)
    // The energy budget reads the modelled joules: 0.8 of 2.5 µJ = 2 µJ → a at 90 % (0.5 + 0.4 + 1.0 ≤ 2).
    let energy = try LatencyAwareAllocator().allocate(table, budget: .energy(fraction: 0.8))
    #expect(energy.choice == [1, 0])
  }

  /// Two layers of 1 ms, 0.2 ms overhead. a's 50 % cut: a itself 0.6 ms, b (which reads the cut
  /// channels) at 0.8 of its time, the ops between them 0.05 ms faster; priced alone 0.6 − 0.2 − 0.05 =
  /// 0.35 ms. a's 75 % cut: 0.3 ms, b at 0.9, −0.05 ms: 0.15 ms. b can go 90 % sparse: 0.2 ms.
  static func coupledTable() -> CostTable {
    let half = CutTiming(ownSeconds: 0.6e-3, memberScales: ["b": 0.8], surroundingSeconds: -0.05e-3)
    let most = CutTiming(ownSeconds: 0.3e-3, memberScales: ["b": 0.9], surroundingSeconds: -0.05e-3)
    return CostTable(
      cpu: "test CPU", batch: 1, threads: 1, denseSeconds: 2.2e-3, denseJoules: 2.2e-6,
      layers: [
        LayerCosts(
          layer: "a", node: "a",
          options: [
            CostedCandidate(candidate: .dense, seconds: 1e-3, joules: 1e-6),
            CostedCandidate(candidate: .channels(0.5), seconds: 0.35e-3, joules: 0.5e-6, loss: 0.02, cut: half),
            CostedCandidate(candidate: .channels(0.75), seconds: 0.15e-3, joules: 0.3e-6, loss: 0.1, cut: most),
          ]),
        LayerCosts(
          layer: "b", node: "b",
          options: [
            CostedCandidate(candidate: .dense, seconds: 1e-3, joules: 1e-6),
            CostedCandidate(candidate: .unstructured(0.9), seconds: 0.2e-3, joules: 0.2e-6, loss: 0.01),
          ]),
      ])
  }

  /// A cut and a pruned reader compose: b's own 0.2 ms at the cut's scale, not b's saving and the
  /// cut's narrowing of b both taken off the dense b.
  @Test func cutsComposeWithWhatTheyNarrow() {
    let table = Self.coupledTable()
    // One candidate alone: composed and added agree (0.2 + 0.35 + 1.0 = 0.2 + 0.6 + 0.8 − 0.05).
    #expect(abs(table.predicted([1, 0]).seconds - 1.55e-3) < 1e-12)
    #expect(abs(table.additiveSeconds([1, 0]) - 1.55e-3) < 1e-12)
    #expect(abs(table.predicted([0, 1]).seconds - 1.4e-3) < 1e-12)
    // Both: 0.2 + 0.6 + 0.2 × 0.8 − 0.05 = 0.91 ms, where adding the options says 0.75 ms.
    #expect(abs(table.predicted([1, 1]).seconds - 0.91e-3) < 1e-12)
    #expect(abs(table.additiveSeconds([1, 1]) - 0.75e-3) < 1e-12)
    #expect(abs(table.predicted([1, 1]).loss - 0.03) < 1e-12)
  }

  /// At 0.8 ms the additive knapsack's least loss is the 50 % cut with sparse b (0.75 ms added, loss
  /// 0.03), which composes to 0.91 ms: the allocator shrinks its capacity by the 0.11 ms miss and gets
  /// the 75 % cut with sparse b (0.2 + 0.3 + 0.18 − 0.05 = 0.63 ms composed, loss 0.11). At 0.6 ms no
  /// answer composes within the limit: the fastest composed one is kept and reported as it composes.
  @Test func allocatorChecksTheComposedLatency() throws {
    let table = Self.coupledTable()
    let plan = try LatencyAwareAllocator().allocate(table, budget: .latency(fraction: 0.8e-3 / 2.2e-3))
    #expect(plan.choice == [2, 1])
    #expect(abs(plan.predictedSeconds - 0.63e-3) < 1e-12)
    #expect(abs(plan.predictedLoss - 0.11) < 1e-12)
    let tight = try LatencyAwareAllocator().allocate(table, budget: .latency(fraction: 0.6e-3 / 2.2e-3))
    #expect(tight.choice == [2, 1])
    #expect(tight.predictedSeconds > 0.6e-3)
  }

  /// A reused table re-timed on a busier machine keeps its proportions: same plan, overhead scaled.
  @Test func rescaledTableKeepsItsProportions() throws {
    var table = Self.fakeTable()
    table.rescale(to: 4.4e-3)
    #expect(abs(table.overheadSeconds - 0.4e-3) < 1e-12)
    #expect(try LatencyAwareAllocator().allocate(table, budget: .speedup(1.25)).choice == [1, 0])
  }

  @Test func impossibleBudgetNamesTheBestReachable() {
    let table = Self.fakeTable()
    // Fastest: 0.2 + 0.2 + 0.2 = 0.6 ms → 3.67× at most.
    #expect {
      try LatencyAwareAllocator().allocate(table, budget: .speedup(5))
    } throws: { error in
      let text = "\(error)"
      return text.contains("3.67×") && text.contains("speed-up ≥ 5×") && text.contains("test CPU")
    }
    #expect(throws: PruningError.self) { try LatencyAwareAllocator().allocate(table, budget: .speedup(0.5)) }
    #expect(throws: PruningError.self) { try LatencyAwareAllocator().allocate(table, budget: .energy(fraction: 0.1)) }
  }

  /// A channel cut on fc1 (its 6 neurons couple w1's rows, b1 and w2's columns) and 2:4 on w2 together:
  /// w1 loses round(0.5 · 6) = 3 rows, w2 the same 3 columns and then half of each group of 4… which
  /// its 3 remaining columns do not fit: an error naming w2. 50 % unstructured on w2 fits.
  @Test func candidatesApplyCutsThenMasks() throws {
    var g = tinyMLP()
    try applyCandidates(["w1": .channels(0.5), "w2": .unstructured(0.5)], to: &g)
    #expect(g.initializers["w1"]!.shape == [3, 8])
    #expect(g.initializers["b1"]!.shape == [3])
    #expect(g.initializers["w2"]!.shape == [4, 3])
    #expect(g.initializers["w2"]!.floats.filter { $0 == 0 }.count == 6)
    // The kept neurons are the largest by summed |w| over the group (w1 rows, b1, w2 columns).
    let dense = tinyMLP()
    let groups = CandidateGroups(dense)
    let (_, kept) = try groups.kept("w1", ratio: 0.5, in: dense)
    #expect(kept.count == 3)
    // A cut with a sparsity: the same neurons kept, then half of the cut weight's 24 entries zeroed
    // (the smallest |w|), the reader narrowed and left dense.
    var thinned = tinyMLP()
    let both = PruningCandidate.channels(0.5, sparsity: 0.5)
    #expect(both.isValid && both.pattern == .unstructured && both.description == "channels -50% + 50%")
    try applyCandidates(["w1": both], to: &thinned)
    #expect(thinned.initializers["w1"]!.shape == [3, 8] && thinned.initializers["w2"]!.shape == [4, 3])
    #expect(thinned.initializers["w1"]!.floats.filter { $0 == 0 }.count == 12)
    var plain = tinyMLP()
    try applyCandidates(["w1": .channels(0.5)], to: &plain)
    #expect(thinned.initializers["w2"]!.floats == plain.initializers["w2"]!.floats)
    let cut = plain.initializers["w1"]!.floats
    let threshold = cut.map(abs).sorted()[11]
    #expect(zip(thinned.initializers["w1"]!.floats, cut).allSatisfy { $0 == 0 ? abs($1) <= threshold : $0 == $1 })
    #expect(!PruningCandidate.channels(0.5, sparsity: 1).isValid)
    #expect(throws: PruningError.self) {
      var h = tinyMLP()
      try applyCandidates(["w1": .channels(0.5), "w2": .nOfM(2, 4)], to: &h)
    }
    #expect(throws: PruningError.self) {
      var h = tinyMLP()
      try applyCandidates(["w2": .channels(0.5)], to: &h)  // fc2's outputs are the graph output
    }
    #expect(throws: PruningError.self) {
      var h = tinyMLP()
      try applyCandidates(["nope": .unstructured(0.5)], to: &h)
    }
  }
}
