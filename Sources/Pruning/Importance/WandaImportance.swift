import ModelGraph
import TensorCore

/// Wanda (Sun et al. 2023, "A Simple and Effective Pruning Approach for Large Language Models"):
/// score S_ij = |W_ij|·‖X_j‖₂, the weight times the L2 norm of its input feature over the calibration
/// tokens; compared per output row (the int(cols·s) lowest of each row go), or per group of M
/// consecutive inputs of a row for N:M. Weights that survive are not changed.
public struct WandaImportance: LayerwiseCriterion {
  public init() {}
  public var name: String { "wanda" }
  public var needsHessian: Bool { false }

  public func prune(
    weights: inout [Float], rows: Int, cols: Int, calibration: LinearCalibration, target: LayerTarget,
    parameter: String
  ) throws -> (mask: [Float], report: LinearPruneReport) {
    try target.check(cols: cols, parameter: parameter)
    let mask = maskPerRow(
      Self.scores(weights, rows: rows, cols: cols, inputSquares: calibration.inputSquares), rows: rows,
      cols: cols, target: target)
    let s = applyMask(mask, to: &weights)
    return (mask, LinearPruneReport(weight: parameter, sparsity: s))
  }

  /// |W_ij|·‖X_j‖₂ for W [rows, cols] and Σ_t x_tj² [cols].
  public static func scores(_ w: [Float], rows: Int, cols: Int, inputSquares: [Float]) -> [Float] {
    precondition(w.count == rows * cols && inputSquares.count == cols, "Wanda: \(w.count) weights, \(inputSquares.count) norms")
    let norms = inputSquares.map { $0.squareRoot() }
    var s = [Float](repeating: 0, count: w.count)
    for r in 0..<rows {
      for c in 0..<cols { s[r * cols + c] = abs(w[r * cols + c]) * norms[c] }
    }
    return s
  }
}

/// The Wanda mask written the plain way (a stable sort of each row's scores; the lowest of each
/// group by sorting the group), for the tests.
public func wandaMaskReference(
  weights w: [Float], rows: Int, cols: Int, inputSquares: [Float], target: LayerTarget
) -> [Float] {
  var mask = [Float](repeating: 1, count: rows * cols)
  for r in 0..<rows {
    let score = (0..<cols).map { abs(w[r * cols + $0]) * inputSquares[$0].squareRoot() }
    switch target {
    case .sparsity(let s):
      let order = (0..<cols).sorted { score[$0] != score[$1] ? score[$0] < score[$1] : $0 < $1 }
      for c in order.prefix(Int(Double(cols) * s)) { mask[r * cols + c] = 0 }
    case .nOfM(let n, let m):
      for g in stride(from: 0, to: cols, by: m) {
        let order = (g..<(g + m)).sorted { score[$0] != score[$1] ? score[$0] < score[$1] : $0 < $1 }
        for c in order.prefix(m - n) { mask[r * cols + c] = 0 }
      }
    }
  }
  return mask
}
