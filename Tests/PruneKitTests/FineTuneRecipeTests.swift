import Testing

@testable import PruneKit

@Suite struct FineTuneRecipeTests {
  /// Length-bucketed batches: each epoch is still a permutation (every example once), the batches of
  /// a pool hold neighbouring lengths, and the same seed gives the same batches (a resumed run).
  @Test func bucketedEpochsArePermutationsOfSimilarLengths() {
    let count = 203
    let lengths = (0..<count).map { ($0 * 37) % 61 + 2 }
    let recipe = FineTuneRecipe(steps: 100, batchSize: 8, learningRate: 1e-3, seed: 5, bucketSize: 4)
    let perEpoch = (count + 7) / 8
    for epoch in 0..<2 {
      let batches = (0..<perEpoch).map { recipe.indices(step: epoch * perEpoch + $0, count: count, lengths: lengths) }
      #expect(batches.flatMap { $0 }.sorted() == Array(0..<count))
      // Sorted within a pool of 32 examples drawn at random from 61 lengths: a batch's spread is small.
      let spread = batches.map { b in b.map { lengths[$0] }.max()! - b.map { lengths[$0] }.min()! }
      #expect(Double(spread.reduce(0, +)) / Double(spread.count) < 20, "\(spread)")
    }
    let again = FineTuneRecipe(steps: 100, batchSize: 8, learningRate: 1e-3, seed: 5, bucketSize: 4)
    #expect((0..<30).allSatisfy { recipe.indices(step: $0, count: count, lengths: lengths) == again.indices(step: $0, count: count, lengths: lengths) })
    let plain = FineTuneRecipe(steps: 100, batchSize: 8, learningRate: 1e-3, seed: 5)
    func totalSpread(_ r: FineTuneRecipe) -> Int {
      var total = 0
      for step in 0..<perEpoch {
        let b = r.indices(step: step, count: count, lengths: lengths).map { lengths[$0] }
        total += b.max()! - b.min()!
      }
      return total
    }
    #expect(totalSpread(plain) > 2 * totalSpread(recipe))
  }

  @Test func warmupRisesLinearlyThenTheScheduleRunsOverTheRest() {
    let recipe = FineTuneRecipe(steps: 14, batchSize: 1, learningRate: 1, warmupSteps: 4)
    #expect(recipe.rate(step: 0) == 0.25 && recipe.rate(step: 3) == 1)
    #expect(recipe.rate(step: 4) == 1)  // cosine starts at the peak after warm-up
    #expect(abs(recipe.rate(step: 9) - 0.5) < 1e-6)  // half-way through the 10 decay steps
    #expect(recipe.rate(step: 13) < 0.03)
    let constant = FineTuneRecipe(steps: 10, batchSize: 1, learningRate: 2, schedule: .constant)
    #expect((0..<10).allSatisfy { constant.rate(step: $0) == 2 })
  }
}
