import ModelGraph

/// Recovery after pruning: fine-tunes `graph` with its masks held (pruned weights stay zero).
/// The Training module conforms through the glue in PruneKit; Pruning never imports Training.
public protocol Recovery {
  /// `round` counts prune → recover cycles from 0.
  mutating func recover(_ graph: inout Graph, round: Int) throws
}

/// Quality of a model on held-out data, higher is better (e.g. accuracy in [0, 1]).
public protocol Evaluator {
  mutating func evaluate(_ graph: Graph) throws -> Double
}

/// A recovery that does nothing (one-shot pruning without fine-tuning).
public struct NoRecovery: Recovery {
  public init() {}
  public mutating func recover(_ graph: inout Graph, round: Int) throws {}
}

/// Closures as protocol conformers, for tests and small scripts.
public struct RecoveryClosure: Recovery {
  var body: (inout Graph, Int) throws -> Void
  public init(_ body: @escaping (inout Graph, Int) throws -> Void) { self.body = body }
  public mutating func recover(_ graph: inout Graph, round: Int) throws { try body(&graph, round) }
}

public struct EvaluatorClosure: Evaluator {
  var body: (Graph) throws -> Double
  public init(_ body: @escaping (Graph) throws -> Double) { self.body = body }
  public mutating func evaluate(_ graph: Graph) throws -> Double { try body(graph) }
}

/// What one round of a schedule did: sparsity reached, kept fraction per layer, quality if measured.
public struct PruningRound: Sendable, Codable, Equatable {
  public var round: Int
  public var sparsity: Double
  public var kept: [String: Double]
  public var quality: Double?
}
