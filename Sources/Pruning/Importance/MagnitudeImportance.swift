import ModelGraph
import TensorCore

/// Magnitude importance (Han et al. 2015): |w| (L1) or w² (L2, so that a group's summed score is
/// its squared L2 norm, ranked like the norm itself).
public struct MagnitudeImportance: ImportanceCriterion, Sendable {
  public enum Norm: Sendable { case l1, l2 }
  public var norm: Norm

  public init(norm: Norm = .l1) { self.norm = norm }

  public var name: String { norm == .l1 ? "magnitude-l1" : "magnitude-l2" }

  public func scores(for parameter: String, in graph: Graph) throws -> Tensor {
    let w = try weights(parameter, in: graph)
    let values = w.floats
    switch norm {
    case .l1: return Tensor(shape: w.shape, floats: values.map { abs($0) })
    case .l2: return Tensor(shape: w.shape, floats: values.map { $0 * $0 })
    }
  }
}
