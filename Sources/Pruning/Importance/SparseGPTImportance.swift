import ModelGraph
import TensorCore

/// SparseGPT (Frantar & Alistarh 2023, "SparseGPT: Massive Language Models Can Be Accurately Pruned
/// in One-Shot", Algorithm 1): prune one Linear column by column with the Optimal Brain Surgeon update
/// of the remaining weights, using the layer's Hessian H = 2XᵀX/n of its calibration inputs.
///
/// - dead inputs (H_jj = 0) get H_jj = 1 and W[:, j] = 0;
/// - λ = dampingFraction·mean(diag H) is added to the diagonal; when the Cholesky factorisation
///   fails, λ is raised ×10 (at least to 1e-4·mean) up to `maxEscalations` times;
/// - Hinv = the upper Cholesky factor U of H⁻¹ (H⁻¹ = UᵀU), computed as P·chol(P·H·P)⁻¹·P with P the
///   reversal permutation: one Cholesky and one triangular inverse on the blocked GEMM kernels;
/// - columns are processed in blocks of `blockSize`; unstructured: the block's mask is the
///   int(rows·block·s) lowest w²/[Hinv]_jj² over the whole block (adaptive mask selection); N:M: the
///   M−N lowest of each group of M of a row, chosen when the group's first column is reached;
/// - within a block each column's error e = (w − q)/[Hinv]_jj updates the block's later columns
///   (rows in parallel); the later blocks get the whole block's errors at once, W[:, i2:] −= E·Hinv[i1:i2, i2:]
///   (lazy batch update, one GEMM).
public struct SparseGPTImportance: LayerwiseCriterion {
  public var blockSize: Int
  public var dampingFraction: Double
  public var maxEscalations: Int

  public init(blockSize: Int = 128, dampingFraction: Double = 0.01, maxEscalations: Int = 8) {
    self.blockSize = blockSize
    self.dampingFraction = dampingFraction
    self.maxEscalations = maxEscalations
  }

  public var name: String { "sparsegpt" }
  public var needsHessian: Bool { true }

  public func prune(
    weights w: inout [Float], rows: Int, cols: Int, calibration: LinearCalibration, target: LayerTarget,
    parameter: String
  ) throws -> (mask: [Float], report: LinearPruneReport) {
    try target.check(cols: cols, parameter: parameter)
    guard var h = calibration.hessian, h.count == cols * cols else {
      throw PruningError.invalidArgument(
        what: "SparseGPT on '\(parameter)'", expected: "a [\(cols), \(cols)] Hessian",
        found: "\(calibration.hessian?.count ?? 0) values")
    }
    if case .nOfM(_, let m) = target, blockSize % m != 0 {
      throw PruningError.invalidArgument(
        what: "SparseGPT block size", expected: "a multiple of M=\(m)", found: "\(blockSize)")
    }
    var dead = 0
    for j in 0..<cols where h[j * cols + j] == 0 {
      h[j * cols + j] = 1
      for r in 0..<rows { w[r * cols + j] = 0 }
      dead += 1
    }
    let (hinv, damping, escalations) = try Self.inverseHessianFactor(
      h, n: cols, dampingFraction: dampingFraction, maxEscalations: maxEscalations, parameter: parameter)
    var mask = [Float](repeating: 1, count: rows * cols)
    var errors = [Float](repeating: 0, count: rows * blockSize)
    var scores: [Float] = []
    var blockMask: [Float] = []
    var scratch: [Float] = []
    for i1 in stride(from: 0, to: cols, by: blockSize) {
      let i2 = min(i1 + blockSize, cols)
      let count = i2 - i1
      if case .sparsity(let s) = target {
        scores = [Float](repeating: 0, count: rows * count)
        for r in 0..<rows {
          for c in 0..<count {
            let d = hinv[(i1 + c) * cols + i1 + c]
            let x = w[r * cols + i1 + c]
            scores[r * count + c] = x * x / (d * d)
          }
        }
        blockMask = [Float](repeating: 1, count: rows * count)
        scores.withUnsafeBufferPointer { sc in
          blockMask.withUnsafeMutableBufferPointer {
            maskLowest(sc, k: Int(Double(rows * count) * s), into: $0, scratch: &scratch)
          }
        }
        for r in 0..<rows {
          for c in 0..<count { mask[r * cols + i1 + c] = blockMask[r * count + c] }
        }
      }
      w.withUnsafeMutableBufferPointer { wb in
        mask.withUnsafeMutableBufferPointer { mb in
          errors.withUnsafeMutableBufferPointer { eb in
            hinv.withUnsafeBufferPointer { hb in
              let (wp, mp, ep, hp) = (
                SendablePointer(wb.baseAddress!), SendablePointer(mb.baseAddress!),
                SendablePointer(eb.baseAddress!), SendableConstPointer(hb.baseAddress!)
              )
              let chunk = 16
              ThreadPool.shared.parallelFor((rows + chunk - 1) / chunk) { c in
                for r in (c * chunk)..<min(rows, (c + 1) * chunk) {
                  Self.pruneRowInBlock(
                    row: wp.base + r * cols, mask: mp.base + r * cols, errors: ep.base + r * count,
                    hinv: hp.base, cols: cols, i1: i1, count: count, target: target)
                }
              }
              if i2 < cols {
                gemm(
                  transA: false, transB: false, m: rows, n: cols - i2, k: count, alpha: -1, a: eb.baseAddress!,
                  lda: count, b: hb.baseAddress! + i1 * cols + i2, ldb: cols, beta: 1, c: wb.baseAddress! + i2,
                  ldc: cols)
              }
            }
          }
        }
      }
    }
    var zeros = 0
    for i in 0..<w.count where mask[i] == 0 {
      w[i] = 0
      zeros += 1
    }
    return (
      mask,
      LinearPruneReport(
        weight: parameter, sparsity: Double(zeros) / Double(max(w.count, 1)), damping: damping,
        dampingEscalations: escalations, deadInputs: dead)
    )
  }

  /// One row's pass over columns i1..<i1+count: choose N:M groups as they are reached, quantise each
  /// column to q (0 where masked), record e = (w − q)/[Hinv]_jj and update the block's later columns.
  @inline(__always)
  static func pruneRowInBlock(
    row: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<Float>, errors: UnsafeMutablePointer<Float>,
    hinv: UnsafePointer<Float>, cols: Int, i1: Int, count: Int, target: LayerTarget
  ) {
    for i in 0..<count {
      let col = i1 + i
      if case .nOfM(let n, let m) = target, i % m == 0 {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: m) { s in
          for g in 0..<m {
            let d = hinv[(col + g) * cols + col + g]
            s[g] = row[col + g] * row[col + g] / (d * d)
          }
          maskLowestInGroups(
            UnsafeBufferPointer(s), m: m, pruneCount: m - n, into: UnsafeMutableBufferPointer(start: mask + col, count: m))
        }
      }
      let x = row[col]
      let q: Float = mask[col] == 0 ? 0 : x
      let e = (x - q) / hinv[col * cols + col]
      errors[i] = e
      if e != 0 {
        let h = hinv + col * cols
        for j in (col + 1)..<(i1 + count) { row[j] -= e * h[j] }
      }
      row[col] = q
    }
  }

  /// U with H⁻¹ = UᵀU (upper Cholesky factor of the damped H's inverse), the damping fraction used and
  /// how many times it was raised. H: [n, n] row-major.
  public static func inverseHessianFactor(
    _ h: [Float], n: Int, dampingFraction: Double, maxEscalations: Int = 8, parameter: String
  ) throws -> (hinv: [Float], damping: Double, escalations: Int) {
    var meanDiagonal = 0.0
    for j in 0..<n { meanDiagonal += Double(h[j * n + j]) }
    meanDiagonal /= Double(max(n, 1))
    var fraction = dampingFraction
    for attempt in 0...maxEscalations {
      // P·(H + λI)·P: reversed rows and columns.
      let lambda = Float(fraction * meanDiagonal)
      var r = [Float](repeating: 0, count: n * n)
      for i in 0..<n {
        for j in 0..<n { r[i * n + j] = h[(n - 1 - i) * n + (n - 1 - j)] }
        r[i * n + i] += lambda
      }
      let ok = r.withUnsafeMutableBufferPointer { choleskyLower($0.baseAddress!, n: n) }
      if ok {
        var x = [Float](repeating: 0, count: n * n)
        r.withUnsafeBufferPointer { l in
          x.withUnsafeMutableBufferPointer { invertLowerTriangular(l.baseAddress!, n: n, into: $0.baseAddress!) }
        }
        var u = [Float](repeating: 0, count: n * n)
        var finite = true
        for i in 0..<n {
          for j in i..<n {
            let v = x[(n - 1 - i) * n + (n - 1 - j)]
            finite = finite && v.isFinite
            u[i * n + j] = v
          }
        }
        if finite { return (u, fraction, attempt) }
      }
      fraction = max(fraction * 10, 1e-4)
    }
    throw PruningError.invalidArgument(
      what: "SparseGPT Hessian of '\(parameter)'",
      expected: "positive definite after damping (raised \(maxEscalations) times, up to \(fraction / 10)·mean diag)",
      found: "a failed Cholesky factorisation (non-finite or degenerate calibration inputs?)")
  }
}

/// SparseGPT written the plain way, in Double, for the tests: the upper Cholesky factor of the explicit
/// inverse, the same block mask rule, and after every column an immediate update of *all* later
/// columns (no lazy batching). Returns the pruned weights and the mask.
public func sparseGPTReference(
  weights: [Float], rows: Int, cols: Int, hessian: [Float], target: LayerTarget, blockSize: Int = 128,
  dampingFraction: Double = 0.01
) -> (weights: [Float], mask: [Float]) {
  var w = weights.map(Double.init)
  var h = hessian.map(Double.init)
  for j in 0..<cols where h[j * cols + j] == 0 {
    h[j * cols + j] = 1
    for r in 0..<rows { w[r * cols + j] = 0 }
  }
  let mean = (0..<cols).reduce(0.0) { $0 + h[$1 * cols + $1] } / Double(cols)
  for j in 0..<cols { h[j * cols + j] += dampingFraction * mean }
  // H⁻¹ = L⁻ᵀL⁻¹, then its upper Cholesky factor U (A = UᵀU) by the textbook recurrence.
  let l = choleskyLowerReference(h, n: cols)!
  let li = invertLowerTriangularReference(l, n: cols)
  var inv = [Double](repeating: 0, count: cols * cols)
  for i in 0..<cols {
    for j in 0..<cols {
      var s = 0.0
      for p in max(i, j)..<cols { s += li[p * cols + i] * li[p * cols + j] }
      inv[i * cols + j] = s
    }
  }
  var u = [Double](repeating: 0, count: cols * cols)
  for i in 0..<cols {
    var d = inv[i * cols + i]
    for p in 0..<i { d -= u[p * cols + i] * u[p * cols + i] }
    u[i * cols + i] = d.squareRoot()
    for j in (i + 1)..<max(i + 1, cols) {
      var s = inv[i * cols + j]
      for p in 0..<i { s -= u[p * cols + i] * u[p * cols + j] }
      u[i * cols + j] = s / u[i * cols + i]
    }
  }
  var mask = [Float](repeating: 1, count: rows * cols)
  for i1 in stride(from: 0, to: cols, by: blockSize) {
    let i2 = min(i1 + blockSize, cols)
    if case .sparsity(let s) = target {
      var entries: [(Double, Int)] = []
      for r in 0..<rows {
        for c in i1..<i2 { entries.append((w[r * cols + c] * w[r * cols + c] / (u[c * cols + c] * u[c * cols + c]), r * cols + c)) }
      }
      entries.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
      for (_, index) in entries.prefix(Int(Double(rows * (i2 - i1)) * s)) { mask[index] = 0 }
    }
    for col in i1..<i2 {
      for r in 0..<rows {
        if case .nOfM(let n, let m) = target, (col - i1) % m == 0 {
          let group = (col..<(col + m)).sorted {
            let a = w[r * cols + $0] * w[r * cols + $0] / (u[$0 * cols + $0] * u[$0 * cols + $0])
            let b = w[r * cols + $1] * w[r * cols + $1] / (u[$1 * cols + $1] * u[$1 * cols + $1])
            return a != b ? a < b : $0 < $1
          }
          for c in group.prefix(m - n) { mask[r * cols + c] = 0 }
        }
        let x = w[r * cols + col]
        let q = mask[r * cols + col] == 0 ? 0 : x
        let e = (x - q) / u[col * cols + col]
        for j in (col + 1)..<max(col + 1, cols) { w[r * cols + j] -= e * u[col * cols + j] }
        w[r * cols + col] = q
      }
    }
  }
  return (w.map { Float($0) }, mask)
}
