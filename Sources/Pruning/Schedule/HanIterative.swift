import Foundation
import ModelGraph
import TensorCore

/// Iterative magnitude pruning of Han et al. 2015 ("Learning both Weights and Connections for
/// Efficient Neural Networks", §3): prune every weight below a per-layer threshold, retrain the
/// survivors, repeat. The threshold of a layer is a quality parameter times the standard deviation
/// of the layer's weights; here σ is measured once on the dense weights (as in Distiller's
/// `SensitivityPruner`), and the quality parameter grows linearly over the rounds to its final value
/// q_l: threshold_l(r) = q_l · (r+1)/R · σ_l, r = 0 … R−1. Masks only shrink.
public struct HanIterativePruning {
  /// Final quality parameter per layer (parameter name); layers not named use `defaultQuality`.
  public var qualities: [String: Double]
  public var defaultQuality: Double
  public var rounds: Int
  public var selection: PrunableSelection
  /// Optional final kept fraction per layer: the quality parameter of round r is then chosen on the
  /// current weights so that the layer keeps target^((r+1)/R) (a geometric path to the published
  /// per-layer rates), still pruning by |w| ≤ q·σ.
  public var keptTargets: [String: Double] = [:]

  public init(
    qualities: [String: Double] = [:], defaultQuality: Double = 1.0, rounds: Int = 3,
    selection: PrunableSelection = .default
  ) {
    self.qualities = qualities
    self.defaultQuality = defaultQuality
    self.rounds = rounds
    self.selection = selection
  }

  /// Population standard deviation of the weights.
  public static func standardDeviation(_ w: [Float]) -> Double {
    guard !w.isEmpty else { return 0 }
    let mean = w.reduce(0.0) { $0 + Double($1) } / Double(w.count)
    let variance = w.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(w.count)
    return variance.squareRoot()
  }

  /// Han's rule: the mask keeps |w| > quality · σ (and whatever `previous` already pruned stays pruned).
  public static func mask(weights: Tensor, sigma: Double, quality: Double, previous: Tensor?) -> Tensor {
    let threshold = Float(quality * sigma)
    let old = previous?.floats
    let values = weights.floats
    return Tensor(
      shape: weights.shape,
      floats: values.indices.map { abs(values[$0]) > threshold && (old?[$0] ?? 1) != 0 ? 1 : 0 })
  }

  /// The quality parameter that keeps `kept` of the layer's weights: the (1−kept) quantile of |w| / σ.
  /// Lets a recipe aim at published per-layer rates (Han et al. Table 1) with Han's own rule.
  public static func quality(forKept kept: Double, weights: [Float]) -> Double {
    let sigma = standardDeviation(weights)
    guard sigma > 0, !weights.isEmpty else { return 0 }
    let sorted = weights.map { abs($0) }.sorted()
    let index = min(sorted.count - 1, max(0, Int(((1 - kept) * Double(sorted.count)).rounded()) - 1))
    return Double(sorted[index]) / sigma
  }

  /// Runs the rounds: threshold → store and apply masks → recover → (evaluate). Returns one report per round.
  public func run<R: Recovery>(
    _ graph: inout Graph, recovery: inout R, evaluate: ((Graph) throws -> Double)? = nil
  ) throws -> [PruningRound] {
    guard rounds > 0 else {
      throw PruningError.invalidArgument(what: "Han rounds", expected: "≥ 1", found: "\(rounds)")
    }
    let parameters = selection.parameters(in: graph)
    var sigmas: [String: Double] = [:]
    for name in parameters { sigmas[name] = Self.standardDeviation(graph.initializers[name]!.floats) }
    var reports: [PruningRound] = []
    for round in 0..<rounds {
      var masks: [String: Tensor] = [:]
      for name in parameters {
        var q = (qualities[name] ?? defaultQuality) * Double(round + 1) / Double(rounds)
        if let target = keptTargets[name], sigmas[name]! > 0 {
          let kept = pow(target, Double(round + 1) / Double(rounds))
          q =
            Self.quality(forKept: kept, weights: graph.initializers[name]!.floats)
            * Self.standardDeviation(
              graph.initializers[name]!.floats) / sigmas[name]!
        }
        masks[name] = Self.mask(
          weights: graph.initializers[name]!, sigma: sigmas[name]!, quality: q, previous: graph.masks[name])
      }
      try graph.setMasks(masks)
      try recovery.recover(&graph, round: round)
      try graph.applyMasks()
      let quality = try evaluate?(graph)
      reports.append(
        PruningRound(
          round: round, sparsity: graph.sparsity(of: parameters), kept: graph.keptFractions(of: parameters),
          quality: quality))
    }
    return reports
  }
}
