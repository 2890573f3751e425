import ModelGraph
import TensorCore

/// Random importance: uniform [0, 1) scores, a baseline every criterion must beat.
/// Seeded per parameter by `seed` and a stable hash of the parameter's name, so the scores do not
/// depend on the order in which parameters are asked for.
public struct RandomImportance: ImportanceCriterion, Sendable {
  public var seed: UInt64

  public init(seed: UInt64) { self.seed = seed }

  public var name: String { "random" }

  public func scores(for parameter: String, in graph: Graph) throws -> Tensor {
    let w = try weights(parameter, in: graph)
    return Tensor.uniform(w.shape, seed: seed ^ stableHash(parameter))
  }
}
