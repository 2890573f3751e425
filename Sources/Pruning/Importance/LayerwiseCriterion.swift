import ModelGraph
import TensorCore

/// What the calibration texts showed one Linear, over real tokens only (padding never enters).
public struct LinearCalibration: Sendable {
  /// Σ_t x_tj² per input feature j (Wanda's ‖X_j‖₂²). [in]
  public var inputSquares: [Float]
  /// H = 2·XᵀX / tokens, [in, in] row-major (SparseGPT); nil when the criterion does not need it.
  public var hessian: [Float]?
  /// Number of tokens the statistics are summed over.
  public var tokens: Int

  public init(inputSquares: [Float], hessian: [Float]? = nil, tokens: Int) {
    self.inputSquares = inputSquares
    self.hessian = hessian
    self.tokens = tokens
  }
}

/// How much of one Linear goes: a fraction, or N kept in every M consecutive inputs of a row.
public enum LayerTarget: Sendable, Equatable {
  case sparsity(Double)
  case nOfM(n: Int, m: Int)
}

/// What pruning one Linear did.
public struct LinearPruneReport: Sendable, Codable {
  public var weight: String
  public var sparsity: Double
  /// SparseGPT: the damping λ finally added to diag(H), as a fraction of mean(diag H), and how many
  /// times it was raised because the Cholesky factorisation failed.
  public var damping: Double?
  public var dampingEscalations: Int = 0
  public var deadInputs: Int = 0
}

/// A criterion that prunes one Linear at a time from calibration statistics (one-shot, layer by
/// layer; Wanda, SparseGPT, and magnitude as the calibration-free baseline). Weights are seen as
/// [rows = out, cols = in], row-major; the criterion zeroes pruned weights (and may update the others,
/// as SparseGPT does) and returns the mask (1 = kept).
public protocol LayerwiseCriterion: Sendable {
  var name: String { get }
  /// Whether `LinearCalibration.hessian` must be filled.
  var needsHessian: Bool { get }
  func prune(
    weights: inout [Float], rows: Int, cols: Int, calibration: LinearCalibration, target: LayerTarget,
    parameter: String
  ) throws -> (mask: [Float], report: LinearPruneReport)
}

extension LayerTarget {
  /// Checks the target against a [rows, cols] weight: sparsity in (0, 1), N:M with M dividing cols.
  func check(cols: Int, parameter: String) throws {
    switch self {
    case .sparsity(let s):
      guard s > 0, s < 1, s.isFinite else {
        throw PruningError.invalidArgument(what: "sparsity of '\(parameter)'", expected: "in (0, 1)", found: "\(s)")
      }
    case .nOfM(let n, let m):
      guard n >= 0, m > 0, n <= m else {
        throw PruningError.invalidArgument(what: "N:M pattern", expected: "0 ≤ N ≤ M, M > 0", found: "\(n):\(m)")
      }
      guard cols % m == 0 else {
        throw PruningError.unsupportedParameter(
          name: parameter, expected: "input features divisible by M=\(m)", found: "\(cols)")
      }
    }
  }
}

/// Scores → mask per output row: the int(cols·s) lowest of each row, or the M−N lowest of each group
/// of M (Wanda's comparison group; magnitude per row uses it too). scores, mask: [rows, cols].
func maskPerRow(_ scores: [Float], rows: Int, cols: Int, target: LayerTarget) -> [Float] {
  var mask = [Float](repeating: 1, count: rows * cols)
  let chunk = max(1, 16_384 / max(cols, 1))
  scores.withUnsafeBufferPointer { s in
    mask.withUnsafeMutableBufferPointer { out in
      let (sp, mp) = (SendableConstPointer(s.baseAddress!), SendablePointer(out.baseAddress!))
      ThreadPool.shared.parallelFor((rows + chunk - 1) / chunk) { c in
        var scratch: [Float] = []
        for r in (c * chunk)..<min(rows, (c + 1) * chunk) {
          let row = UnsafeBufferPointer(start: sp.base + r * cols, count: cols)
          let m = UnsafeMutableBufferPointer(start: mp.base + r * cols, count: cols)
          switch target {
          case .sparsity(let f): maskLowest(row, k: Int(Double(cols) * f), into: m, scratch: &scratch)
          case .nOfM(let n, let groupSize): maskLowestInGroups(row, m: groupSize, pruneCount: groupSize - n, into: m)
          }
        }
      }
    }
  }
  return mask
}

/// Zeroes `weights` where `mask` is 0; returns the fraction zeroed.
func applyMask(_ mask: [Float], to weights: inout [Float]) -> Double {
  var zeros = 0
  for i in 0..<weights.count where mask[i] == 0 {
    weights[i] = 0
    zeros += 1
  }
  return Double(zeros) / Double(max(weights.count, 1))
}
