import ModelGraph
import TensorCore

/// First-order Taylor importance (Molchanov et al. 2019): |w · ∂L/∂w|, the first-order estimate of
/// the loss change when w is set to zero. Gradients come from a `GradientSource`.
public struct TaylorImportance: ImportanceCriterion, Sendable {
  /// ∂L/∂w per parameter name, same shapes as the weights.
  public var gradients: [String: Tensor]

  public init(gradients: [String: Tensor]) { self.gradients = gradients }

  /// Asks `source` for the gradients of `parameters` once.
  public init<S: GradientSource>(graph: Graph, parameters: [String], source: inout S) throws {
    self.gradients = try source.gradients(of: graph, for: parameters)
  }

  public var name: String { "taylor" }

  public func scores(for parameter: String, in graph: Graph) throws -> Tensor {
    let w = try weights(parameter, in: graph)
    guard let g = gradients[parameter] else {
      throw PruningError.callbackFailed(
        what: "Taylor importance", reason: "no gradient for parameter '\(parameter)'")
    }
    guard g.shape == w.shape, g.dtype == .float32 else {
      throw PruningError.unsupportedParameter(
        name: parameter, expected: "gradient of shape \(w.shape)", found: "shape \(g.shape)")
    }
    let wv = w.floats
    let gv = g.floats
    return Tensor(shape: w.shape, floats: (0..<wv.count).map { abs(wv[$0] * gv[$0]) })
  }
}
