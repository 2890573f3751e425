import ModelGraph
import TensorCore

/// Lottery-ticket rewinding (Frankle & Carbin 2019; rewinding to an early iterate: Frankle et al. 2020,
/// "Linear Mode Connectivity and the Lottery Ticket Hypothesis"): keep the weights of an early
/// training step, prune the trained network, and reset the survivors to those early values.
public struct LotteryTicket: Sendable {
  /// The saved early weights, by parameter name.
  public private(set) var rewindWeights: [String: Tensor]

  /// Saves the current values of `parameters` (call at the rewind step, e.g. iteration 0 or k).
  public init(saving graph: Graph, parameters: [String]) throws {
    var saved: [String: Tensor] = [:]
    for name in parameters {
      guard let t = graph.initializers[name] else { throw PruningError.missingParameter(name: name) }
      saved[name] = t
    }
    rewindWeights = saved
  }

  /// Survivors (mask 1, or no mask) get their saved values; pruned weights stay zero.
  public func rewind(_ graph: inout Graph) throws {
    for (name, early) in rewindWeights {
      guard graph.initializers[name]?.shape == early.shape else {
        throw PruningError.unsupportedParameter(
          name: name, expected: "shape \(early.shape)", found: "\(graph.initializers[name]?.shape ?? [])")
      }
      graph.initializers[name] = early
    }
    try graph.applyMasks()
  }

  /// Iterative magnitude pruning with rewinding: `rounds` × (train → prune `ratePerRound` of the
  /// survivors by magnitude → rewind); `train` is the recovery (full training from the rewind point).
  /// The returned graph holds the ticket at its rewind weights and the final masks.
  public func iterate<R: Recovery>(
    _ graph: inout Graph, train: inout R, rounds: Int, ratePerRound: Double, scope: PruningScope = .global
  ) throws -> [PruningRound] {
    let parameters = rewindWeights.keys.sorted()
    let builder = MaskBuilder(criterion: MagnitudeImportance(), scope: scope)
    var reports: [PruningRound] = []
    var density = 1.0
    for round in 0..<rounds {
      try train.recover(&graph, round: round)
      try graph.applyMasks()
      density *= 1 - ratePerRound
      try graph.setMasks(builder.masks(for: graph, parameters: parameters, sparsity: 1 - density))
      try rewind(&graph)
      reports.append(
        PruningRound(
          round: round, sparsity: graph.sparsity(of: parameters), kept: graph.keptFractions(of: parameters),
          quality: nil))
    }
    return reports
  }
}
