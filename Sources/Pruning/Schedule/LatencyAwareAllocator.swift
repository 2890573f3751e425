import Foundation

/// Picks one candidate per layer of a measured `CostTable` so that the predicted whole-model latency
/// (or modelled energy) meets a budget with the least summed predicted loss — NetAdapt's empirical
/// per-layer tables (Yang et al. 2018) solved as HALP's multiple-choice knapsack (Shen et al. 2022).
///
/// The knapsack prices each candidate against an otherwise dense model: the table's overhead
/// (non-layer time, measured) + Σ the chosen candidates' measured times, a cut's including what it
/// changes in the layers and ops it narrows. The answer is then checked composed
/// (`CostTable.predicted`: a layer both narrowed by a cut and pruned counted once, at both
/// reductions) and the capacity tightened until it holds. Layer losses are assumed to add up (as in
/// sensitivity-based allocation).
public struct LatencyAwareAllocator: Sendable {
  public enum Budget: Sendable, Equatable, CustomStringConvertible {
    /// Predicted latency ≤ fraction × the dense model's measured latency.
    case latency(fraction: Double)
    /// Predicted latency ≤ dense latency / speed-up.
    case speedup(Double)
    /// Modelled energy ≤ fraction × the dense model's modelled energy.
    case energy(fraction: Double)

    /// Whether the budget is on modelled energy (joules) rather than measured latency (seconds).
    public var isEnergy: Bool {
      if case .energy = self { return true }
      return false
    }

    /// The budget in `table`'s units: seconds for a latency or speed-up budget, joules for energy.
    public func limit(in table: CostTable) -> Double {
      switch self {
      case .latency(let f): return f * table.denseSeconds
      case .speedup(let s): return table.denseSeconds / s
      case .energy(let f): return f * table.denseJoules
      }
    }

    public var description: String {
      switch self {
      case .latency(let f): return String(format: "latency ≤ %.3g of dense", f)
      case .speedup(let s): return String(format: "speed-up ≥ %.3g×", s)
      case .energy(let f): return String(format: "energy ≤ %.3g of dense", f)
      }
    }
  }

  public struct Allocation: Sendable, Equatable {
    /// Option index per layer of the table.
    public var choice: [Int]
    public var predictedSeconds: Double
    public var predictedJoules: Double
    public var predictedLoss: Double
    /// Budget slack the cost discretisation may leave unused, in the budget's unit (seconds or joules).
    public var discretisationError: Double

    public init(
      choice: [Int], predictedSeconds: Double, predictedJoules: Double, predictedLoss: Double,
      discretisationError: Double
    ) {
      self.choice = choice
      self.predictedSeconds = predictedSeconds
      self.predictedJoules = predictedJoules
      self.predictedLoss = predictedLoss
      self.discretisationError = discretisationError
    }
  }

  public var buckets: Int

  public init(buckets: Int = MultipleChoiceKnapsack.defaultBuckets) { self.buckets = buckets }

  public func allocate(_ table: CostTable, budget: Budget) throws -> Allocation {
    guard !table.layers.isEmpty, table.layers.allSatisfy({ !$0.options.isEmpty }) else {
      throw PruningError.invalidArgument(what: "cost table", expected: "layers with candidates", found: "none")
    }
    switch budget {
    case .latency(let f):
      guard f.isFinite, f > 0, f <= 1 else {
        throw PruningError.invalidArgument(what: "latency budget", expected: "a fraction in (0, 1]", found: "\(f)")
      }
    case .speedup(let s):
      guard s.isFinite, s >= 1 else {
        throw PruningError.invalidArgument(what: "speed-up target", expected: "≥ 1", found: "\(s)")
      }
    case .energy(let f):
      guard f.isFinite, f > 0, f <= 1 else {
        throw PruningError.invalidArgument(what: "energy budget", expected: "a fraction in (0, 1]", found: "\(f)")
      }
    }
    let (byEnergy, limit) = (budget.isEnergy, budget.limit(in: table))
    let overhead = byEnergy ? table.overheadJoules : table.overheadSeconds
    let groups = table.layers.map { layer in
      layer.options.map { MultipleChoiceKnapsack.Option(cost: byEnergy ? $0.joules : $0.seconds, loss: $0.loss) }
    }
    guard var solution = MultipleChoiceKnapsack.solve(groups, budget: limit - overhead, buckets: buckets) else {
      throw unreachable(table, budget: budget, byEnergy: byEnergy, overhead: overhead, groups: groups)
    }
    // The knapsack adds each option's saving as if every other layer were dense; a chosen cut that
    // narrows a layer that is also pruned saves less than that (`CostTable.predicted` composes them).
    // While the composed latency misses the limit, the capacity shrinks by the miss and the knapsack
    // is solved again (a smaller capacity never lowers the least loss, so the first answer that meets
    // the limit is kept); when none does within 12 solves, the fastest composed answer is kept.
    var capacity = limit - overhead
    var composed = table.predicted(solution.choice).seconds
    var fastest = (solution, composed)
    for _ in 0..<(byEnergy ? 0 : 12) where composed > limit * (1 + 1e-9) {
      capacity -= composed - limit
      guard let next = MultipleChoiceKnapsack.solve(groups, budget: capacity, buckets: buckets) else { break }
      solution = next
      composed = table.predicted(solution.choice).seconds
      if composed < fastest.1 { fastest = (solution, composed) }
    }
    if !byEnergy && composed > limit * (1 + 1e-9) { solution = fastest.0 }
    let predicted = table.predicted(solution.choice)
    return Allocation(
      choice: solution.choice, predictedSeconds: predicted.seconds,
      predictedJoules: predicted.joules, predictedLoss: predicted.loss,
      discretisationError: MultipleChoiceKnapsack.discretisationError(groups, budget: capacity, buckets: buckets))
  }

  /// The error for a budget no choice meets: names the best reachable speed-up (or energy fraction).
  func unreachable(
    _ table: CostTable, budget: Budget, byEnergy: Bool, overhead: Double, groups: [[MultipleChoiceKnapsack.Option]]
  ) -> PruningError {
    let floor = byEnergy ? overhead + groups.reduce(0) { $0 + ($1.map(\.cost).min() ?? 0) } : table.fastest.seconds
    let where_ = "with the measured candidates on \(table.cpu), batch \(table.batch), \(table.threads) thread(s)"
    if byEnergy {
      return .invalidArgument(
        what: "energy budget",
        expected: String(format: "≥ %.3f of dense (the least modelled energy reachable %@)", floor / table.denseJoules, where_),
        found: "\(budget)")
    }
    let best = table.denseSeconds / floor
    return .invalidArgument(
      what: "latency target",
      expected: String(
        format: "at most a %.2f× speed-up (%.4g ms of %.4g ms dense: the best reachable %@)", best, floor * 1e3,
        table.denseSeconds * 1e3, where_),
      found: "\(budget)")
  }
}
