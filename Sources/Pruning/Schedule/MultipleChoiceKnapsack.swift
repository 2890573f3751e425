/// The multiple-choice knapsack: pick exactly one option from every group so that the summed cost
/// stays within a budget and the summed loss is least (HALP, Shen et al. 2022, §3.2, solves latency-
/// aware pruning this way; Kellerer, Pferschy & Pisinger 2004, ch. 11, for the problem).
///
/// `solve` is an exact dynamic programme over discretised costs. Costs are shifted per group so that
/// each group's cheapest option costs 0, the remaining capacity is cut into `buckets` steps of
/// Δ = capacity / buckets, and each option's cost is rounded **up** to whole steps. Rounding up keeps
/// every answer feasible in real costs; what it can lose is slack: the answer's loss is at most the
/// least loss within the budget and at least the least loss within budget − groups·Δ
/// (`discretisationError`). `bruteForce` is the reference the tests hold it to.
public enum MultipleChoiceKnapsack {
  public struct Option: Sendable, Equatable {
    public var cost: Double
    public var loss: Double

    public init(cost: Double, loss: Double) {
      self.cost = cost
      self.loss = loss
    }
  }

  public struct Solution: Sendable, Equatable {
    /// Chosen option index per group.
    public var choice: [Int]
    public var cost: Double
    public var loss: Double
  }

  /// Default resolution of the capacity.
  public static let defaultBuckets = 4000

  /// Largest amount of budget the rounding can leave unused: groups · capacity / buckets.
  public static func discretisationError(_ groups: [[Option]], budget: Double, buckets: Int = defaultBuckets)
    -> Double
  {
    let floor = groups.reduce(0) { $0 + ($1.map(\.cost).min() ?? 0) }
    return Double(groups.count) * max(0, budget - floor) / Double(buckets)
  }

  /// The least-loss choice with summed cost ≤ `budget` (ties: the cheaper), or nil when even the
  /// cheapest option of every group exceeds it. Every group must hold at least one option.
  public static func solve(_ groups: [[Option]], budget: Double, buckets: Int = defaultBuckets) -> Solution? {
    precondition(buckets > 0 && groups.allSatisfy { !$0.isEmpty }, "knapsack: empty group or buckets \(buckets)")
    let floors = groups.map { $0.map(\.cost).min()! }
    let capacity = budget - floors.reduce(0, +)
    guard capacity >= -1e-12 * max(1, abs(budget)) else { return nil }
    let step = max(capacity, 0) / Double(buckets)
    // weight[g][j]: option j's cost above its group's floor, in steps (rounded up); nil = never fits.
    let weights: [[Int?]] = groups.indices.map { g in
      groups[g].map { option in
        let extra = option.cost - floors[g]
        if extra <= 0 { return 0 }
        guard step > 0 else { return nil }
        let steps = (extra / step * (1 - 1e-12)).rounded(.up)
        return steps <= Double(buckets) ? Int(steps) : nil
      }
    }
    // best[b]: least loss over the groups so far using exactly b steps; parent pointers to rebuild.
    var best = [Double](repeating: .infinity, count: buckets + 1)
    best[0] = 0
    var picked: [[Int32]] = []
    for g in groups.indices {
      var next = [Double](repeating: .infinity, count: buckets + 1)
      var pick = [Int32](repeating: -1, count: buckets + 1)
      for b in 0...buckets where best[b] < .infinity {
        for (j, w) in weights[g].enumerated() {
          guard let w, b + w <= buckets else { continue }
          let loss = best[b] + groups[g][j].loss
          if loss < next[b + w] {
            next[b + w] = loss
            pick[b + w] = Int32(j)
          }
        }
      }
      best = next
      picked.append(pick)
    }
    // Least loss; among equal losses the fewest steps (the cheaper plan).
    guard var state = best.indices.filter({ best[$0] < .infinity }).min(by: { best[$0] < best[$1] })
    else { return nil }
    var choice = [Int](repeating: 0, count: groups.count)
    for g in groups.indices.reversed() {
      let j = Int(picked[g][state])
      choice[g] = j
      state -= weights[g][j]!
    }
    return solution(groups, choice)
  }

  /// Exhaustive reference: every combination (∏ group sizes of them; small instances only).
  public static func bruteForce(_ groups: [[Option]], budget: Double) -> Solution? {
    var best: Solution?
    var choice = [Int](repeating: 0, count: groups.count)
    func visit(_ g: Int) {
      if g == groups.count {
        let s = solution(groups, choice)
        guard s.cost <= budget else { return }
        if best == nil || s.loss < best!.loss || (s.loss == best!.loss && s.cost < best!.cost) { best = s }
        return
      }
      for j in groups[g].indices {
        choice[g] = j
        visit(g + 1)
      }
    }
    visit(0)
    return best
  }

  static func solution(_ groups: [[Option]], _ choice: [Int]) -> Solution {
    var cost = 0.0
    var loss = 0.0
    for (g, j) in choice.enumerated() {
      cost += groups[g][j].cost
      loss += groups[g][j].loss
    }
    return Solution(choice: choice, cost: cost, loss: loss)
  }
}
