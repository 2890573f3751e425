import ModelGraph
import TensorCore

/// Backward rules of Gemm and MatMul (ONNX Gemm-13, MatMul-13 with numpy broadcasting), on
/// TensorCore's `gemm`.
enum LinearBackward {
  static func register(into table: inout [OpKey: BackwardRule]) {
    table[OpKey("MatMul")] = BackwardRule { ctx in
      try matMulBackward(ctx.forward.floatInput(0), ctx.forward.floatInput(1), ctx.outputGrad(), needs: (ctx.needs(0), ctx.needs(1)))
    }
    table[OpKey("Gemm")] = BackwardRule { ctx in try gemmBackward(ctx) }
  }

  /// C[m, n] (+)= alpha · op(A) · op(B), row-major arrays (offsets in elements).
  static func product(
    _ c: inout [Float], _ cOffset: Int = 0, transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
    _ a: [Float], _ aOffset: Int = 0, lda: Int, _ b: [Float], _ bOffset: Int = 0, ldb: Int, beta: Float = 0, ldc: Int
  ) {
    if m == 0 || n == 0 { return }
    a.withUnsafeBufferPointer { pa in
      b.withUnsafeBufferPointer { pb in
        c.withUnsafeMutableBufferPointer { pc in
          gemm(
            transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: pa.baseAddress! + aOffset, lda: lda,
            b: pb.baseAddress! + bOffset, ldb: ldb, beta: beta, c: pc.baseAddress! + cOffset, ldc: ldc)
        }
      }
    }
  }

  /// Y = A·B with A [..., M, K], B [..., K, N] (rank-1 operands promoted as numpy does):
  /// dA = dY·Bᵀ, dB = Aᵀ·dY per batch matrix, summed back over broadcast batch dimensions.
  static func matMulBackward(_ a: Tensor, _ b: Tensor, _ dyIn: Tensor, needs: (Bool, Bool)) throws -> [Tensor?] {
    let a2 = a.rank == 1 ? try a.reshaped([1, a.count]) : a
    let b2 = b.rank == 1 ? try b.reshaped([b.count, 1]) : b
    let (m, k, n) = (a2.shape[a2.rank - 2], a2.shape[a2.rank - 1], b2.shape[b2.rank - 1])
    let av = a2.floats, bv = b2.floats, dy = dyIn.floats
    var da: [Float]? = nil, db: [Float]? = nil
    if b2.rank == 2 {
      // Linear layer: rows of A (all leading dimensions) against one weight matrix.
      let rows = av.count / Swift.max(k, 1)
      if needs.0 {
        var d = [Float](repeating: 0, count: av.count)
        product(&d, transA: false, transB: true, m: rows, n: k, k: n, dy, lda: n, bv, ldb: n, ldc: k)
        da = d
      }
      if needs.1 {
        var d = [Float](repeating: 0, count: bv.count)
        product(&d, transA: true, transB: false, m: k, n: n, k: rows, av, lda: k, dy, ldb: n, ldc: n)
        db = d
      }
      return [da.map { Tensor(shape: a.shape, floats: $0) }, db.map { Tensor(shape: b.shape, floats: $0) }]
    }
    let batchA = Array(a2.shape.dropLast(2)), batchB = Array(b2.shape.dropLast(2))
    let batch = try broadcastShape(batchA, batchB)
    let count = batch.reduce(1, *)
    let offA = Indexing.offsets(shape: batch, strides: Indexing.broadcastStrides(batchA, to: batch))
    let offB = Indexing.offsets(shape: batch, strides: Indexing.broadcastStrides(batchB, to: batch))
    var daFull = [Float](repeating: 0, count: needs.0 ? count * m * k : 0)
    var dbFull = [Float](repeating: 0, count: needs.1 ? count * k * n : 0)
    for i in 0..<count {
      if needs.0 {
        product(
          &daFull, i * m * k, transA: false, transB: true, m: m, n: k, k: n, dy, i * m * n, lda: n, bv, offB[i] * k * n,
          ldb: n, ldc: k)
      }
      if needs.1 {
        product(
          &dbFull, i * k * n, transA: true, transB: false, m: k, n: n, k: m, av, offA[i] * m * k, lda: k, dy, i * m * n,
          ldb: n, ldc: n)
      }
    }
    if needs.0 { da = try sumToShape(Tensor(shape: batch + [m, k], floats: daFull), a2.shape).floats }
    if needs.1 { db = try sumToShape(Tensor(shape: batch + [k, n], floats: dbFull), b2.shape).floats }
    return [da.map { Tensor(shape: a.shape, floats: $0) }, db.map { Tensor(shape: b.shape, floats: $0) }]
  }

  /// Gemm: Y = alpha·A'·B' + beta·C, A' = transA ? Aᵀ : A ([M, K]), B' likewise ([K, N]).
  /// dA' = alpha·dY·B'ᵀ, dB' = alpha·A'ᵀ·dY, dC = beta·dY summed to C's shape.
  static func gemmBackward(_ ctx: BackwardContext) throws -> [Tensor?] {
    let a = try ctx.forward.floatInput(0), b = try ctx.forward.floatInput(1)
    let alpha = try ctx.forward.float("alpha", default: 1), beta = try ctx.forward.float("beta", default: 1)
    let transA = try ctx.forward.int("transA", default: 0) != 0, transB = try ctx.forward.int("transB", default: 0) != 0
    let (m, k) = transA ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
    let n = transB ? b.shape[0] : b.shape[1]
    let av = a.floats, bv = b.floats, dyT = ctx.outputGrad(), dy = dyT.floats
    var grads: [Tensor?] = [nil, nil, nil]
    if ctx.needs(0) {
      var da = [Float](repeating: 0, count: m * k)
      if transA {  // dA [K, M] = alpha · B' · dYᵀ
        product(&da, transA: transB, transB: true, m: k, n: m, k: n, alpha: alpha, bv, lda: b.shape[1], dy, ldb: n, ldc: m)
      } else {  // dA [M, K] = alpha · dY · B'ᵀ
        product(&da, transA: false, transB: !transB, m: m, n: k, k: n, alpha: alpha, dy, lda: n, bv, ldb: b.shape[1], ldc: k)
      }
      grads[0] = Tensor(shape: a.shape, floats: da)
    }
    if ctx.needs(1) {
      var db = [Float](repeating: 0, count: k * n)
      if transB {  // dB [N, K] = alpha · dYᵀ · A'
        product(&db, transA: true, transB: transA, m: n, n: k, k: m, alpha: alpha, dy, lda: n, av, ldb: a.shape[1], ldc: k)
      } else {  // dB [K, N] = alpha · A'ᵀ · dY
        product(&db, transA: !transA, transB: false, m: k, n: n, k: m, alpha: alpha, av, lda: a.shape[1], dy, ldb: n, ldc: n)
      }
      grads[1] = Tensor(shape: b.shape, floats: db)
    }
    if ctx.needs(2), let c = ctx.forward.optionalInput(2) {
      grads[2] = try sumToShape(dyT, c.shape).multiplied(by: beta)
    }
    return grads
  }
}
