/// General matrix multiply, BLAS semantics, row-major:
/// C[m, n] = alpha · op(A)[m, k] · op(B)[k, n] + beta · C[m, n]
/// where op(A) = A ([m, k], leading dimension lda) or Aᵀ (A stored [k, m]); likewise B.
/// With beta == 0, C is not read (NaNs in C do not propagate).
///
/// Paths: m == 1 or n == 1 → `gemv` (no packing); otherwise the packed, blocked `gemmBlocked` with the
/// micro-kernel `CPUFeatures.kernel` picks (AVX-512 8×32 or AVX2 6×16). `threads` caps the threads
/// used (default: all of `ThreadPool.shared`); small products run on the caller only. `epilogue`
/// (bias, activation, residual) is applied to each block of C as it is finished.
public func gemm(
  transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
  alpha: Float, a: UnsafePointer<Float>, lda: Int,
  b: UnsafePointer<Float>, ldb: Int,
  beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
  threads: Int = .max, epilogue: GEMMEpilogue = .none
) {
  gemm(
    transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
    beta: beta, c: c, ldc: ldc, threads: threads, kernel: CPUFeatures.kernel, epilogue: epilogue)
}

/// `gemm` with an explicit kernel family (tests and the benchmark exercise each one).
/// `.avx512` on a CPU without AVX-512 runs `.avx2` instead.
public func gemm(
  transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
  alpha: Float, a: UnsafePointer<Float>, lda: Int,
  b: UnsafePointer<Float>, ldb: Int,
  beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
  threads: Int, kernel: KernelKind, epilogue: GEMMEpilogue = .none
) {
  precondition(m >= 0 && n >= 0 && k >= 0, "gemm: negative size m=\(m) n=\(n) k=\(k)")
  if m == 0 || n == 0 { return }
  if kernel == .reference {
    gemmReference(
      transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
      beta: beta, c: c, ldc: ldc)
    epilogue.applyReference(m: m, n: n, c: c, ldc: ldc)
    return
  }
  if productIsEmpty(m: m, n: n, k: k, alpha: alpha, beta: beta, c: c, ldc: ldc, epilogue: epilogue) { return }
  let useThreads = gemmThreads(m: m, n: n, k: k, requested: threads)
  if m == 1 || n == 1 {
    gemvPath(
      transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
      beta: beta, c: c, ldc: ldc, threads: useThreads)
    epilogue.apply(m: m, n: n, c: c, ldc: ldc)
    return
  }
  let tiling: GEMMTiling = kernel == .avx512 && CPUFeatures.hasAVX512 ? .avx512 : .avx2
  gemmBlocked(
    tiling, m: m, n: n, k: k, alpha: alpha, a: MatrixView(base: a, ld: lda, transposed: transA),
    b: MatrixView(base: b, ld: ldb, transposed: transB), beta: beta, c: c, ldc: ldc,
    threads: useThreads, epilogue: epilogue)
}

/// k == 0 or alpha == 0: C ← beta·C, then the epilogue; returns whether that was the whole product.
func productIsEmpty(
  m: Int, n: Int, k: Int, alpha: Float, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
  epilogue: GEMMEpilogue
) -> Bool {
  guard k == 0 || alpha == 0 else { return false }
  scaleC(m: m, n: n, beta: beta, c: c, ldc: ldc)
  epilogue.apply(m: m, n: n, c: c, ldc: ldc)
  return true
}

/// Threads for an m×n×k product: the requested number (capped by the pool), or 1 when small.
func gemmThreads(m: Int, n: Int, k: Int, requested: Int) -> Int {
  // Below ~0.5 MFLOP a second thread costs more than it saves.
  m * n * k >= gemmParallelMinimumMACs ? min(requested, ThreadPool.shared.threadCount) : 1
}

/// Multiply-adds below which `gemm` stays on the calling thread.
let gemmParallelMinimumMACs = 1 << 18

/// C ← beta·C (C not read when beta == 0): the whole product when k == 0 or alpha == 0.
func scaleC(m: Int, n: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
  for i in 0..<m {
    let row = c + i * ldc
    for j in 0..<n { row[j] = beta == 0 ? 0 : beta * row[j] }
  }
}

/// m == 1: y = C row 0 (stride 1), x = op(A) row 0, matrix op(B).
/// n == 1: y = C column 0 (stride ldc), x = op(B) column 0, matrix op(A)ᵀ.
func gemvPath(
  transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>,
  lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>,
  ldc: Int, threads: Int
) {
  // The vector, gathered to contiguous memory when it is strided.
  let (vector, vectorStride) = m == 1 ? (a, transA ? lda : 1) : (b, transB ? 1 : ldb)
  withContiguous(vector, stride: vectorStride, count: k) { x in
    if m == 1 {
      // y[j] = Σ_p x[p]·op(B)[p, j]; op(B)[p, j] = b[p·ldb + j] (rows) or b[j·ldb + p] (dot).
      gemv(
        x: x, k: k, mat: b, ld: ldb, dotForm: transB, count: n, alpha: alpha, beta: beta, y: c,
        yStride: 1, threads: threads)
    } else {
      // y[i] = Σ_p op(A)[i, p]·x[p]; op(A)[i, p] = a[i·lda + p] (dot) or a[p·lda + i] (rows).
      gemv(
        x: x, k: k, mat: a, ld: lda, dotForm: !transA, count: m, alpha: alpha, beta: beta, y: c,
        yStride: ldc, threads: threads)
    }
  }
}

func withContiguous<R>(
  _ v: UnsafePointer<Float>, stride: Int, count: Int, _ body: (UnsafePointer<Float>) -> R
) -> R {
  if stride == 1 { return body(v) }
  return withUnsafeTemporaryAllocation(of: Float.self, capacity: count) { buffer in
    for p in 0..<count { buffer[p] = v[p * stride] }
    return body(UnsafePointer(buffer.baseAddress!))
  }
}

/// The scalar definition of `gemm`, kept to test fast kernels against.
public func gemmReference(
  transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
  alpha: Float, a: UnsafePointer<Float>, lda: Int,
  b: UnsafePointer<Float>, ldb: Int,
  beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
  for i in 0..<m {
    for j in 0..<n {
      var sum: Float = 0
      for p in 0..<k {
        let aip = transA ? a[p * lda + i] : a[i * lda + p]
        let bpj = transB ? b[j * ldb + p] : b[p * ldb + j]
        sum += aip * bpj
      }
      let old = beta == 0 ? 0 : beta * c[i * ldc + j]
      c[i * ldc + j] = alpha * sum + old
    }
  }
}

extension Tensor {
  /// Matrix product of 2-D float tensors: [m, k] × [k, n] → [m, n].
  public func matmul(_ other: Tensor) throws -> Tensor {
    guard rank == 2, other.rank == 2, shape[1] == other.shape[0] else {
      throw TensorError.shapeMismatch(
        operation: "matmul", expected: "[m, k] × [k, n]", found: "\(shape) × \(other.shape)")
    }
    let (m, k, n) = (shape[0], shape[1], other.shape[1])
    var out = [Float](repeating: 0, count: m * n)
    let lhs = floats
    let rhs = other.floats
    lhs.withUnsafeBufferPointer { a in
      rhs.withUnsafeBufferPointer { b in
        out.withUnsafeMutableBufferPointer { c in
          gemm(
            transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: a.baseAddress!, lda: k,
            b: b.baseAddress!, ldb: n, beta: 0, c: c.baseAddress!, ldc: n)
        }
      }
    }
    return Tensor(shape: [m, n], floats: out)
  }
}
