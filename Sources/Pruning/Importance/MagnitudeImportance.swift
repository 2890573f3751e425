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

/// Magnitude as a layer-wise criterion (the one-shot baseline, no calibration used): per matrix, the
/// int(count·s) smallest |W| go (lower index first on ties); N:M: the M−N smallest of each group of M
/// consecutive inputs of a row.
extension MagnitudeImportance: LayerwiseCriterion {
  public var needsHessian: Bool { false }

  public func prune(
    weights: inout [Float], rows: Int, cols: Int, calibration: LinearCalibration, target: LayerTarget,
    parameter: String
  ) throws -> (mask: [Float], report: LinearPruneReport) {
    try target.check(cols: cols, parameter: parameter)
    let magnitudes = weights.map { abs($0) }
    var mask: [Float]
    switch target {
    case .sparsity(let s):
      mask = [Float](repeating: 1, count: weights.count)
      var scratch: [Float] = []
      magnitudes.withUnsafeBufferPointer { m in
        mask.withUnsafeMutableBufferPointer {
          maskLowest(m, k: Int(Double(weights.count) * s), into: $0, scratch: &scratch)
        }
      }
    case .nOfM:
      mask = maskPerRow(magnitudes, rows: rows, cols: cols, target: target)
    }
    let s = applyMask(mask, to: &weights)
    return (mask, LinearPruneReport(weight: parameter, sparsity: s))
  }
}
