import ModelGraph

/// Picks per-layer sparsities from sensitivity curves so that a global target is met with the least
/// predicted quality loss (sum over layers of baseline − quality(layer, sparsity), assuming layers
/// add up independently, as in Han et al.'s and Distiller's sensitivity-driven schedules).
///
/// Exact on the curves' grid (a multiple-choice knapsack solved by dynamic programming over the
/// removed fraction): one grid sparsity per layer, least summed predicted loss, target met.
/// Predicted loss is made non-decreasing in sparsity (running maximum), so noise never rewards pruning.
public struct SparsityAllocator {
  public enum Target: Sendable, Equatable {
    /// Fraction of the layers' weights to remove.
    case sparsity(Double)
    /// Fraction of the layers' MACs to remove (unstructured: a layer's MACs scale with its density).
    case macs(Double)
  }

  public init() {}

  public struct Allocation: Sendable, Equatable {
    public var sparsities: [String: Double]
    public var predictedLoss: Double
    /// Reached fraction of parameters (or MACs) removed.
    public var achieved: Double
  }

  public func allocate(_ report: SensitivityReport, target: Target) throws -> Allocation {
    let (goal, useMACs): (Double, Bool) = {
      switch target {
      case .sparsity(let s): return (s, false)
      case .macs(let m): return (m, true)
      }
    }()
    guard goal >= 0, goal <= 1 else {
      throw PruningError.invalidArgument(what: "allocation target", expected: "in [0, 1]", found: "\(goal)")
    }
    let curves = report.curves
    let weights = curves.map { Double(useMACs ? $0.macs : $0.parameters) }
    let total = weights.reduce(0, +)
    guard total > 0 else {
      throw PruningError.invalidArgument(
        what: "allocation", expected: "layers with sizes/MACs", found: "none")
    }
    let losses: [[Double]] = curves.map { curve in
      var running = 0.0
      return curve.quality.map { q in
        running = max(running, report.baseline - q)
        return running
      }
    }
    var need = Int((goal * Double(Self.buckets)).rounded(.up))
    while true {
      guard
        let level = Self.cheapest(curves: curves, losses: losses, weights: weights, total: total, need: need)
      else {
        let most = zip(curves, weights).reduce(0) { $0 + ($1.0.sparsities.max() ?? 0) * $1.1 } / total
        throw PruningError.invalidArgument(
          what: "allocation target", expected: "reachable with the curves' sparsities (max \(most))",
          found: "\(goal)")
      }
      let achieved = curves.indices.reduce(0) { $0 + curves[$1].sparsities[level[$1]] * weights[$1] } / total
      // Bucket rounding can fall a hair short: ask for one more bucket then.
      if achieved < goal - 1e-12, need < Self.buckets {
        need += 1
        continue
      }
      return result(curves: curves, losses: losses, level: level, achieved: achieved)
    }
  }

  /// Resolution of the removed fraction in the dynamic programme.
  static let buckets = 4000

  /// Exact multiple-choice knapsack over the grid (dynamic programme on the removed fraction in
  /// 1/`buckets` steps): the level per layer with the least summed loss removing ≥ need buckets.
  static func cheapest(
    curves: [SensitivityCurve], losses: [[Double]], weights: [Double], total: Double, need: Int
  )
    -> [Int]?
  {
    var best = [Double](repeating: .infinity, count: buckets + 1)
    best[0] = 0
    var choices: [[Int]] = []  // per layer: state → level chosen to reach it
    var from: [[Int]] = []
    for l in curves.indices {
      var next = [Double](repeating: .infinity, count: buckets + 1)
      var choice = [Int](repeating: -1, count: buckets + 1)
      var previous = [Int](repeating: -1, count: buckets + 1)
      for b in 0...buckets where best[b] < .infinity {
        for j in curves[l].sparsities.indices {
          let cost = Int((curves[l].sparsities[j] * weights[l] / total * Double(buckets)).rounded())
          let to = min(buckets, b + cost)
          let loss = best[b] + losses[l][j]
          if loss < next[to] - 1e-15 {
            next[to] = loss
            choice[to] = j
            previous[to] = b
          }
        }
      }
      best = next
      choices.append(choice)
      from.append(previous)
    }
    guard let end = (need...buckets).filter({ best[$0] < .infinity }).min(by: { best[$0] < best[$1] }) else {
      return nil
    }
    var level = [Int](repeating: 0, count: curves.count)
    var state = end
    for l in curves.indices.reversed() {
      level[l] = choices[l][state]
      state = from[l][state]
    }
    return level
  }

  func result(curves: [SensitivityCurve], losses: [[Double]], level: [Int], achieved: Double) -> Allocation {
    var sparsities: [String: Double] = [:]
    var loss = 0.0
    for l in curves.indices {
      sparsities[curves[l].layer] = curves[l].sparsities[level[l]]
      loss += losses[l][level[l]]
    }
    return Allocation(sparsities: sparsities, predictedLoss: loss, achieved: achieved)
  }
}

/// Applies per-layer sparsities (e.g. from `SparsityAllocator`) with layer-wise masks by `criterion`.
public func pruneLayers(
  _ graph: inout Graph, sparsities: [String: Double],
  criterion: any ImportanceCriterion = MagnitudeImportance()
) throws {
  let builder = MaskBuilder(criterion: criterion, scope: .layer)
  for (layer, s) in sparsities.sorted(by: { $0.key < $1.key }) {
    try graph.setMasks(builder.masks(for: graph, parameters: [layer], sparsity: s))
  }
}
