import ModelGraph
import TensorCore

/// One importance criterion: a score per weight element, higher = more important (kept longer).
///
/// Structured pruning sums these element scores over every slice of a coupled group
/// (`PruningGroup.importance(by:in:)`), which gives the group versions of each criterion
/// (e.g. group Taylor = Σ |w·∂L/∂w| over the structure, Molchanov et al. 2019).
/// Wanda and SparseGPT will be further conformers (they need calibration activations).
public protocol ImportanceCriterion {
  /// Short name for reports ("magnitude-l1", "taylor", …).
  var name: String { get }
  /// Scores for the initializer `parameter` of `graph`: same shape, non-negative preferred.
  func scores(for parameter: String, in graph: Graph) throws -> Tensor
}

/// Gradients of the loss with respect to parameters, supplied from outside the Pruning module
/// (the Training module conforms through the glue in PruneKit).
public protocol GradientSource {
  /// ∂L/∂w for each named parameter (same shapes as the parameters), averaged over the source's data.
  mutating func gradients(of graph: Graph, for parameters: [String]) throws -> [String: Tensor]
}

extension ImportanceCriterion {
  /// The float weights of `parameter`, or a thrown error naming it.
  func weights(_ parameter: String, in graph: Graph) throws -> Tensor {
    guard let tensor = graph.initializers[parameter] else {
      throw PruningError.missingParameter(name: parameter)
    }
    guard tensor.dtype == .float32 else {
      throw PruningError.unsupportedParameter(
        name: parameter, expected: "float32", found: tensor.dtype.rawValue)
    }
    return tensor
  }
}

/// Stable 64-bit FNV-1a hash of a name (Swift's `hashValue` changes per process).
func stableHash(_ text: String) -> UInt64 {
  var hash: UInt64 = 0xcbf2_9ce4_8422_2325
  for byte in text.utf8 {
    hash ^= UInt64(byte)
    hash = hash &* 0x100_0000_01b3
  }
  return hash
}
