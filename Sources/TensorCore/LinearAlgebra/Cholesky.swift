/// Cholesky factorisation and lower-triangular inversion of dense row-major Float32 matrices, for
/// second-order pruning (SparseGPT's inverse Hessian). Blocked: the diagonal blocks are factored by
/// scalar loops (Double accumulation), the trailing updates run on the packed GEMM and its threads,
/// so an n = 1536 factorisation is a few GEMM calls. `…Reference` versions are the unblocked
/// textbook loops in Double, which the tests compare against.

/// Block width of the blocked factorisations (columns per scalar panel).
let linearAlgebraBlock = 64

/// In place: the lower triangle of `a` ([n, n], row-major, symmetric positive definite) becomes L with
/// A = L·Lᵀ; the strict upper triangle is zeroed. Returns false (and leaves `a` partly overwritten)
/// when a pivot is not positive and finite, i.e. A is not numerically positive definite.
public func choleskyLower(_ a: UnsafeMutablePointer<Float>, n: Int, threads: Int = .max) -> Bool {
  let nb = linearAlgebraBlock
  for k0 in stride(from: 0, to: n, by: nb) {
    let k1 = min(k0 + nb, n)
    // Diagonal block: A11 = L11·L11ᵀ (earlier panels already subtracted by the trailing updates).
    for j in k0..<k1 {
      var d = Double(a[j * n + j])
      for p in k0..<j { d -= Double(a[j * n + p]) * Double(a[j * n + p]) }
      guard d > 0, d.isFinite else { return false }
      let ljj = d.squareRoot()
      a[j * n + j] = Float(ljj)
      for i in (j + 1)..<k1 {
        var s = Double(a[i * n + j])
        for p in k0..<j { s -= Double(a[i * n + p]) * Double(a[j * n + p]) }
        a[i * n + j] = Float(s / ljj)
      }
    }
    guard k1 < n else { break }
    // Panel: L21 = A21·L11⁻ᵀ, row by row (rows are independent).
    let base = SendablePointer(a)
    let rows = n - k1
    let chunk = 32
    ThreadPool.shared.parallelFor((rows + chunk - 1) / chunk, threads: threads) { c in
      let a = base.base
      for i in (k1 + c * chunk)..<min(k1 + (c + 1) * chunk, n) {
        for j in k0..<k1 {
          var s = a[i * n + j]
          for p in k0..<j { s -= a[i * n + p] * a[j * n + p] }
          a[i * n + j] = s / a[j * n + j]
        }
      }
    }
    // Trailing update: A22 −= L21·L21ᵀ (the full square; only its lower triangle is read later).
    gemm(
      transA: false, transB: true, m: rows, n: rows, k: k1 - k0, alpha: -1, a: a + k1 * n + k0, lda: n,
      b: a + k1 * n + k0, ldb: n, beta: 1, c: a + k1 * n + k1, ldc: n, threads: threads)
  }
  for i in 0..<n { for j in (i + 1)..<max(i + 1, n) { a[i * n + j] = 0 } }
  return true
}

/// X = L⁻¹ for lower-triangular `l` ([n, n], row-major, non-zero diagonal); `x` receives X (lower,
/// strict upper triangle zero). Blocked forward substitution on the identity: row block i is
/// X_ii = L_ii⁻¹ and X_i,<i = −L_ii⁻¹·(L_i,<i · X_<i,<i), the product on the GEMM.
public func invertLowerTriangular(
  _ l: UnsafePointer<Float>, n: Int, into x: UnsafeMutablePointer<Float>, threads: Int = .max
) {
  x.update(repeating: 0, count: n * n)
  let nb = linearAlgebraBlock
  var diagonalInverse = [Float](repeating: 0, count: nb * nb)
  var t = [Float](repeating: 0, count: nb * n)
  for i0 in stride(from: 0, to: n, by: nb) {
    let i1 = min(i0 + nb, n)
    let kb = i1 - i0
    // Inverse of the kb×kb diagonal block by forward substitution (Double accumulation).
    diagonalInverse.withUnsafeMutableBufferPointer { d in
      d.update(repeating: 0)
      for c in 0..<kb {
        d[c * kb + c] = 1 / l[(i0 + c) * n + i0 + c]
        for r in (c + 1)..<max(c + 1, kb) {
          var s = 0.0
          for p in c..<r { s += Double(l[(i0 + r) * n + i0 + p]) * Double(d[p * kb + c]) }
          d[r * kb + c] = Float(-s / Double(l[(i0 + r) * n + i0 + r]))
        }
      }
      for r in 0..<kb { for c in 0...r { x[(i0 + r) * n + i0 + c] = d[r * kb + c] } }
    }
    guard i0 > 0 else { continue }
    t.withUnsafeMutableBufferPointer { t in
      diagonalInverse.withUnsafeBufferPointer { d in
        // T[kb, i0] = L[i0..<i1, 0..<i0] · X[0..<i0, 0..<i0]
        gemm(
          transA: false, transB: false, m: kb, n: i0, k: i0, alpha: 1, a: l + i0 * n, lda: n,
          b: UnsafePointer(x), ldb: n, beta: 0, c: t.baseAddress!, ldc: i0, threads: threads)
        // X[i0..<i1, 0..<i0] = −X_ii · T
        gemm(
          transA: false, transB: false, m: kb, n: i0, k: kb, alpha: -1, a: d.baseAddress!, lda: kb,
          b: t.baseAddress!, ldb: i0, beta: 0, c: x + i0 * n, ldc: n, threads: threads)
      }
    }
  }
}

/// Unblocked Cholesky in Double (the definition the blocked version is tested against); nil when a
/// pivot is not positive.
public func choleskyLowerReference(_ a: [Double], n: Int) -> [Double]? {
  var l = [Double](repeating: 0, count: n * n)
  for j in 0..<n {
    var d = a[j * n + j]
    for p in 0..<j { d -= l[j * n + p] * l[j * n + p] }
    guard d > 0, d.isFinite else { return nil }
    l[j * n + j] = d.squareRoot()
    for i in (j + 1)..<max(j + 1, n) {
      var s = a[i * n + j]
      for p in 0..<j { s -= l[i * n + p] * l[j * n + p] }
      l[i * n + j] = s / l[j * n + j]
    }
  }
  return l
}

/// L⁻¹ of a lower-triangular matrix by column-wise forward substitution, in Double.
public func invertLowerTriangularReference(_ l: [Double], n: Int) -> [Double] {
  var x = [Double](repeating: 0, count: n * n)
  for c in 0..<n {
    x[c * n + c] = 1 / l[c * n + c]
    for r in (c + 1)..<max(c + 1, n) {
      var s = 0.0
      for p in c..<r { s += l[r * n + p] * x[p * n + c] }
      x[r * n + c] = -s / l[r * n + r]
    }
  }
  return x
}

/// C[n, n] += alpha · XᵀX for X [k, n] row-major (ldx ≥ n): the symmetric rank-k update (BLAS syrk)
/// on the packed GEMM, column panel by column panel so that only the lower triangle is computed
/// (about half of a full GEMM's work); the upper triangle is then mirrored from it.
public func symmetricRankKUpdate(
  n: Int, k: Int, alpha: Float, x: UnsafePointer<Float>, ldx: Int, c: UnsafeMutablePointer<Float>,
  threads: Int = .max
) {
  let panel = 128
  for j0 in stride(from: 0, to: n, by: panel) {
    let jb = min(panel, n - j0)
    // C[j0..<n, j0..<j0+jb] += alpha · X[:, j0..<n]ᵀ · X[:, j0..<j0+jb]
    gemm(
      transA: true, transB: false, m: n - j0, n: jb, k: k, alpha: alpha, a: x + j0, lda: ldx, b: x + j0, ldb: ldx,
      beta: 1, c: c + j0 * n + j0, ldc: n, threads: threads)
  }
  for i in 0..<n {
    for j in (i + 1)..<max(i + 1, n) { c[i * n + j] = c[j * n + i] }
  }
}
