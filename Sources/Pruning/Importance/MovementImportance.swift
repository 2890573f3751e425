import ModelGraph
import TensorCore

/// Movement importance (Sanh et al. 2020): S = −Σ_t w_t · ∂L/∂w_t accumulated over training steps.
/// Weights moving away from zero score high; weights shrinking towards zero score low.
/// Call `accumulate` from a training hook after each backward pass.
public struct MovementImportance: ImportanceCriterion, Sendable {
  /// Accumulated scores per parameter name.
  public private(set) var accumulated: [String: Tensor] = [:]
  /// Number of `accumulate` calls so far.
  public private(set) var steps = 0

  public init() {}

  public var name: String { "movement" }

  /// Adds −w·g for every parameter in `gradients` (shapes must match the weights).
  public mutating func accumulate(graph: Graph, gradients: [String: Tensor]) throws {
    for (name, g) in gradients {
      let w = try weights(name, in: graph)
      guard g.shape == w.shape else {
        throw PruningError.unsupportedParameter(
          name: name, expected: "gradient of shape \(w.shape)", found: "shape \(g.shape)")
      }
      var sum = accumulated[name]?.floats ?? [Float](repeating: 0, count: w.count)
      let wv = w.floats
      let gv = g.floats
      for i in 0..<sum.count { sum[i] -= wv[i] * gv[i] }
      accumulated[name] = Tensor(shape: w.shape, floats: sum)
    }
    steps += 1
  }

  /// Pulls one batch of gradients from `source` and accumulates them.
  public mutating func accumulate<S: GradientSource>(
    graph: Graph, parameters: [String], source: inout S
  ) throws {
    try accumulate(graph: graph, gradients: source.gradients(of: graph, for: parameters))
  }

  public func scores(for parameter: String, in graph: Graph) throws -> Tensor {
    guard let s = accumulated[parameter] else {
      throw PruningError.callbackFailed(
        what: "movement importance", reason: "no accumulated scores for '\(parameter)'")
    }
    return s
  }
}
