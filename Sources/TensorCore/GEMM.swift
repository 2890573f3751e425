/// General matrix multiply, BLAS semantics, row-major:
/// C[m, n] = alpha · op(A)[m, k] · op(B)[k, n] + beta · C[m, n]
/// where op(A) = A ([m, k], leading dimension lda) or Aᵀ (A stored [k, m]); likewise B.
/// With beta == 0, C is not read (NaNs in C do not propagate).
public func gemm(
  transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
  alpha: Float, a: UnsafePointer<Float>, lda: Int,
  b: UnsafePointer<Float>, ldb: Int,
  beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
  gemmReference(
    transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
    beta: beta, c: c, ldc: ldc)
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
