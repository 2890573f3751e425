import ModelGraph
import TensorCore

/// Gemm and MatMul, forward and backward (ONNX Gemm-13 / MatMul-13), on TensorCore's `gemm`.

/// C[m, n] = op(A) · op(B) with row-major storage (thin wrapper over `gemm`, beta = 0).
func matmulInto(
  _ c: inout [Float], cOffset: Int = 0, transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
  alpha: Float = 1, a: [Float], aOffset: Int = 0, lda: Int, b: [Float], bOffset: Int = 0, ldb: Int,
  beta: Float = 0, ldc: Int
) {
  if m == 0 || n == 0 { return }
  a.withUnsafeBufferPointer { pa in
    b.withUnsafeBufferPointer { pb in
      c.withUnsafeMutableBufferPointer { pc in
        gemm(
          transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
          a: pa.baseAddress! + aOffset, lda: lda, b: pb.baseAddress! + bOffset, ldb: ldb, beta: beta,
          c: pc.baseAddress! + cOffset, ldc: ldc)
      }
    }
  }
}

/// Gemm: Y[M, N] = alpha · A' · B' + beta · C, A' = transA ? Aᵀ : A ([M, K]), B' likewise ([K, N]),
/// C broadcast to [M, N].
/// Backward: dA' = alpha · dY · B'ᵀ, dB' = alpha · A'ᵀ · dY, dC = beta · (dY summed to C's shape).
let gemmOp = DifferentiableOp { node, inputs, _ in
  let a = try node.input(inputs, 0), b = try node.input(inputs, 1)
  let c = try node.optionalInput(inputs, 2)
  let alpha = try node.float("alpha", default: 1), beta = try node.float("beta", default: 1)
  let transA = try node.int("transA", default: 0) != 0, transB = try node.int("transB", default: 0) != 0
  guard a.rank == 2, b.rank == 2 else { throw node.shapeError("2-D A and B", a.shape + b.shape) }
  let (m, k) = transA ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
  let (kb, n) = transB ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
  guard k == kb else { throw node.shapeError("A' [M, \(k)] × B' [\(k), N]", a.shape + b.shape) }
  let av = a.floats, bv = b.floats
  var y = [Float](repeating: 0, count: m * n)
  matmulInto(
    &y, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: av, lda: a.shape[1], b: bv,
    ldb: b.shape[1], ldc: n)
  if let c {
    guard broadcastShapeOrNil(c.shape, [m, n]) == [m, n] else {
      throw node.shapeError("C broadcastable to [\(m), \(n)]", c.shape)
    }
    let cb = broadcastTensor(c, to: [m, n]).floats
    for i in 0..<y.count { y[i] += beta * cb[i] }
  }
  let out = Tensor(shape: [m, n], floats: y)
  return OpStep(outputs: [out]) { grads in
    guard let dy = grads[0]?.floats else { return [nil, nil, nil] }
    var da = [Float](repeating: 0, count: m * k)
    if transA {  // dA [K, M] = alpha · B' · dYᵀ
      matmulInto(
        &da, transA: transB, transB: true, m: k, n: m, k: n, alpha: alpha, a: bv, lda: b.shape[1], b: dy,
        ldb: n, ldc: m)
    } else {  // dA [M, K] = alpha · dY · B'ᵀ
      matmulInto(
        &da, transA: false, transB: !transB, m: m, n: k, k: n, alpha: alpha, a: dy, lda: n, b: bv,
        ldb: b.shape[1], ldc: k)
    }
    var db = [Float](repeating: 0, count: k * n)
    if transB {  // dB [N, K] = alpha · dYᵀ · A'
      matmulInto(
        &db, transA: true, transB: transA, m: n, n: k, k: m, alpha: alpha, a: dy, lda: n, b: av,
        ldb: a.shape[1], ldc: k)
    } else {  // dB [K, N] = alpha · A'ᵀ · dY
      matmulInto(
        &db, transA: !transA, transB: false, m: k, n: n, k: m, alpha: alpha, a: av, lda: a.shape[1], b: dy,
        ldb: n, ldc: n)
    }
    var dc: Tensor? = nil
    if let c {
      dc = mapFloats(sumToShape(Tensor(shape: [m, n], floats: dy), c.shape)) { beta * $0 }
    }
    return [Tensor(shape: a.shape, floats: da), Tensor(shape: b.shape, floats: db), dc]
  }
}

/// MatMul (numpy semantics) for A [..., M, K] × B [K, N] (leading dimensions of A flattened) and for
/// A [..., M, K] × B [..., K, N] with equal leading dimensions.
/// Backward: dA = dY · Bᵀ, dB = Aᵀ · dY (summed over the flattened rows when B is 2-D).
let matMulOp = DifferentiableOp { node, inputs, _ in
  let a = try node.input(inputs, 0), b = try node.input(inputs, 1)
  guard a.rank >= 2, b.rank >= 2 else { throw node.shapeError("rank ≥ 2 operands", a.shape + b.shape) }
  let k = a.shape[a.rank - 1], n = b.shape[b.rank - 1]
  guard b.shape[b.rank - 2] == k else { throw node.shapeError("[..., M, \(k)] × [..., \(k), N]", b.shape) }
  let batchB = b.shape.dropLast(2).reduce(1, *)
  let leadA = Array(a.shape.dropLast(1))
  let batches: Int, m: Int
  if b.rank == 2 {
    (batches, m) = (1, leadA.reduce(1, *))
  } else {
    guard a.rank == b.rank, Array(a.shape.dropLast(2)) == Array(b.shape.dropLast(2)) else {
      throw node.shapeError("equal batch dimensions \(b.shape.dropLast(2))", a.shape)
    }
    (batches, m) = (batchB, a.shape[a.rank - 2])
  }
  let av = a.floats, bv = b.floats
  var y = [Float](repeating: 0, count: batches * m * n)
  for i in 0..<batches {
    matmulInto(
      &y, cOffset: i * m * n, transA: false, transB: false, m: m, n: n, k: k, a: av, aOffset: i * m * k,
      lda: k, b: bv, bOffset: i * k * n, ldb: n, ldc: n)
  }
  let out = Tensor(shape: leadA + [n], floats: y)
  return OpStep(outputs: [out]) { grads in
    guard let dy = grads[0]?.floats else { return [nil, nil] }
    var da = [Float](repeating: 0, count: av.count), db = [Float](repeating: 0, count: bv.count)
    for i in 0..<batches {
      matmulInto(
        &da, cOffset: i * m * k, transA: false, transB: true, m: m, n: k, k: n, a: dy, aOffset: i * m * n,
        lda: n, b: bv, bOffset: i * k * n, ldb: n, ldc: k)
      matmulInto(
        &db, cOffset: i * k * n, transA: true, transB: false, m: k, n: n, k: m, a: av, aOffset: i * m * k,
        lda: k, b: dy, bOffset: i * m * n, ldb: n, ldc: n)
    }
    return [Tensor(shape: a.shape, floats: da), Tensor(shape: b.shape, floats: db)]
  }
}
