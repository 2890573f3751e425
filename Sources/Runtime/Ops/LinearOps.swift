import ModelGraph
import TensorCore

/// Gemm and MatMul (ONNX spec), on TensorCore's `gemm`.
enum LinearOps {
  static func register(into table: inout [OpKey: OpDefinition]) {
    table[OpKey("Gemm")] = OpDefinition { ctx in [try gemmOp(ctx)] }
    table[OpKey("MatMul")] = OpDefinition { ctx in [try matmul(ctx.floatInput(0), ctx.floatInput(1), ctx)] }
    // Made by `Fusion`: Y = act(X·W + b) (+ R), the bias, activation and residual applied by the GEMM's
    // epilogue to each block of Y while it is in cache. Inputs X, W, b, optional R.
    table[OpKey("FusedMatMul", domain: Fusion.domain)] = OpDefinition { ctx in [try fusedMatMul(ctx)] }
  }

  static func fusedMatMul(_ ctx: OpContext, packed: PackedMatrix? = nil) throws -> Tensor {
    try matmul(
      ctx.floatInput(0), ctx.floatInput(1), ctx, bias: ctx.floatInput(2), activation: epilogueActivation(ctx),
      residual: ctx.optionalInput(3), packed: packed)
  }

  /// A FusedMatMul's `activation` attribute ("none", "gelu", "relu") as the GEMM epilogue's.
  static func epilogueActivation(_ ctx: OpContext) throws -> GEMMEpilogue.Activation {
    switch try ctx.string("activation", default: "none") {
    case "none": return .none
    case "gelu": return .gelu
    case "relu": return .relu
    case let other: throw ctx.unsupported("activation", other)
    }
  }

  /// y + residual for a residual that broadcasts to y (the epilogue takes only a same-shape one),
  /// added after the product as the unfused Add would.
  static func addBroadcastResidual(_ y: Tensor, _ residual: Tensor, _ ctx: OpContext) throws -> Tensor {
    var add = OpContext(node: ctx.node, opset: ctx.opset, inputs: [y, residual])
    return try ElementwiseOps.binary(&add, { $0 + $1 }, { $0 &+ $1 }, fast: .add)
  }

  /// For Gemm / MatMul / FusedMatMul whose B is a 2-D float32 initializer (a linear layer's weight): a
  /// kernel that packs the weight once, here at executor construction, and multiplies every run against
  /// the packed panels (`PackedMatrix`). nil for any other node, or when the reference kernel is forced.
  static func prepackedKernel(for node: Node, in graph: Graph) -> OpKernel? {
    let fused = node.opType == "FusedMatMul" && node.domain == Fusion.domain
    let isGemm = node.opType == "Gemm" && node.domain.isEmpty
    guard fused || isGemm || (node.opType == "MatMul" && node.domain.isEmpty), node.inputs.count >= 2,
      let w = graph.initializers[node.inputs[1]], w.rank == 2, w.dtype == .float32, w.count > 0,
      CPUFeatures.kernel != .reference
    else { return nil }
    // Gemm's transB: B is stored [N, K]; MatMul's B is [K, N].
    var transposed = false
    if isGemm, case .int(let t)? = node.attributes["transB"] { transposed = t != 0 }
    let (k, n) = transposed ? (w.shape[1], w.shape[0]) : (w.shape[0], w.shape[1])
    let packed = w.floats.withUnsafeBufferPointer {
      PackedMatrix(b: $0.baseAddress!, ldb: w.shape[1], transposed: transposed, k: k, n: n)
    }
    if isGemm { return { ctx in [try gemmOp(ctx, packed: packed)] } }
    if fused { return { ctx in [try fusedMatMul(ctx, packed: packed)] } }
    return { ctx in [try matmul(ctx.floatInput(0), ctx.floatInput(1), ctx, packed: packed)] }
  }

  /// Y = alpha·op(A)·op(B) + beta·C, A: [M, K] (or [K, M] with transA), B: [K, N] (or [N, K] with
  /// transB), C unidirectionally broadcastable to [M, N].
  static func gemmOp(_ ctx: OpContext, packed: PackedMatrix? = nil) throws -> Tensor {
    let a = try ctx.floatInput(0)
    let b = try ctx.floatInput(1)
    let transA = try ctx.int("transA", default: 0) != 0
    let transB = try ctx.int("transB", default: 0) != 0
    let alpha = try ctx.float("alpha", default: 1)
    let beta = try ctx.float("beta", default: 1)
    guard a.rank == 2, b.rank == 2 else {
      throw ctx.shapeError(expected: "2-D A and B", found: "\(a.shape) and \(b.shape)")
    }
    let (m, k) = transA ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
    let (kb, n) = transB ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
    guard k == kb else {
      throw ctx.shapeError(expected: "inner dimensions equal", found: "\(a.shape) × \(b.shape)")
    }
    var out = [Float](repeating: 0, count: m * n)
    var gemmBeta: Float = 0
    if let c = ctx.optionalInput(2), beta != 0 {
      guard let s = Indexing.broadcast(c.shape, [m, n]), s == [m, n] else {
        throw ctx.shapeError(expected: "C broadcastable to [\(m), \(n)]", found: "\(c.shape)")
      }
      let cv = c.asFloats()
      let offsets = Indexing.offsets(shape: [m, n], strides: Indexing.broadcastStrides(c.shape, to: [m, n]))
      for i in 0..<(m * n) { out[i] = beta * cv[offsets[i]] }
      gemmBeta = 1
    }
    let av = a.floats
    if let packed, packed.k == k, packed.n == n, m > 1 {  // B packed at construction (m = 1: GEMV reads B in place)
      av.withUnsafeBufferPointer { pa in
        out.withUnsafeMutableBufferPointer { pc in
          gemm(
            transA: transA, m: m, alpha: alpha, a: pa.baseAddress!, lda: a.shape[1], packedB: packed,
            beta: gemmBeta, c: pc.baseAddress!, ldc: n)
        }
      }
      return Tensor(shape: [m, n], floats: out)
    }
    let bv = b.floats
    av.withUnsafeBufferPointer { pa in
      bv.withUnsafeBufferPointer { pb in
        out.withUnsafeMutableBufferPointer { pc in
          gemm(
            transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
            a: pa.baseAddress!, lda: a.shape[1], b: pb.baseAddress!, ldb: b.shape[1],
            beta: gemmBeta, c: pc.baseAddress!, ldc: n)
        }
      }
    }
    return Tensor(shape: [m, n], floats: out)
  }

  /// NumPy matmul: [..., M, K] × [..., K, N] → [..., M, N] with broadcast batch dimensions;
  /// a 1-D operand gets a unit dimension added (and removed from the result). With `bias` ([N]),
  /// `activation` and `residual` (the output's shape, or broadcastable to it): act(A·B + bias) + residual.
  static func matmul(
    _ a: Tensor, _ b: Tensor, _ ctx: OpContext, bias: Tensor? = nil,
    activation: GEMMEpilogue.Activation = .none, residual: Tensor? = nil, packed: PackedMatrix? = nil
  ) throws -> Tensor {
    guard a.rank >= 1, b.rank >= 1 else {
      throw ctx.shapeError(expected: "operands of rank ≥ 1", found: "\(a.shape) × \(b.shape)")
    }
    let aShape = a.rank == 1 ? [1, a.shape[0]] : a.shape
    let bShape = b.rank == 1 ? [b.shape[0], 1] : b.shape
    let (m, k) = (aShape[aShape.count - 2], aShape[aShape.count - 1])
    let (kb, n) = (bShape[bShape.count - 2], bShape[bShape.count - 1])
    guard k == kb, let batch = Indexing.broadcast(Array(aShape.dropLast(2)), Array(bShape.dropLast(2)))
    else { throw ctx.shapeError(expected: "[..., M, K] × [..., K, N]", found: "\(a.shape) × \(b.shape)") }
    var outShape = batch + [m, n]
    if a.rank == 1 { outShape.remove(at: outShape.count - 2) }
    if b.rank == 1 { outShape.removeLast() }
    if let bias, bias.count != n {
      throw ctx.shapeError(expected: "bias of \(n) elements", found: "\(bias.shape)")
    }
    if let residual, residual.dtype != .float32 {
      throw ctx.dtypeError(input: 3, expected: "float32", found: residual.dtype)
    }
    let residualValues = residual.flatMap { $0.shape == outShape ? $0.floats : nil }
    let batchCount = batch.reduce(1, *)
    let count = batchCount * m * n
    let (av, bv) = (a.floats, b.floats)
    let biasValues = bias?.floats ?? []
    let out = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
      withOptionalPointer(biasValues) { biasPointer in
        withOptionalPointer(residualValues ?? []) { residualPointer in
          av.withUnsafeBufferPointer { pa in
            bv.withUnsafeBufferPointer { pb in
              let (A, B, C) = (
                SendableConstPointer(pa.baseAddress!), SendableConstPointer(pb.baseAddress!),
                SendablePointer(buffer.baseAddress!)
              )
              let epilogue = GEMMEpilogue(
                bias: biasPointer, activation: activation, residual: residualPointer, residualLD: n)
              // B packed at construction; a single row goes to the GEMV, which reads B in place.
              if bShape.count == 2, let packed, packed.k == k, packed.n == n, batchCount * m > 1 {
                gemm(
                  transA: false, m: batchCount * m, alpha: 1, a: A.base, lda: k, packedB: packed, beta: 0,
                  c: C.base, ldc: n, epilogue: epilogue)
                return
              }
              if bShape.count == 2 {  // weights: fold all batch rows of A into one GEMM
                gemm(
                  transA: false, transB: false, m: batchCount * m, n: n, k: k, alpha: 1, a: A.base, lda: k,
                  b: B.base, ldb: n, beta: 0, c: C.base, ldc: n, epilogue: epilogue)
                return
              }
              let oa = batchOffsets(Array(aShape.dropLast(2)), batch, matrix: m * k)
              let ob = batchOffsets(Array(bShape.dropLast(2)), batch, matrix: k * n)
              ThreadPool.shared.parallelFor(batchCount) { i in
                gemm(
                  transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: A.base + oa[i], lda: k,
                  b: B.base + ob[i], ldb: n, beta: 0, c: C.base + i * m * n, ldc: n,
                  epilogue: epilogue.offset(row: i * m, col: 0))
              }
            }
          }
        }
      }
      initialized = count
    }
    let y = Tensor(shape: outShape, floats: out)
    guard let residual, residualValues == nil else { return y }
    return try addBroadcastResidual(y, residual, ctx)
  }

  /// Y (`outShape`, [m, n] rows) = `product` writing act(·  + bias) (+ residual) through the epilogue it is
  /// handed, with the node's bias (input `biasIndex`, [n] float32) and residual (input `residualIndex`:
  /// Y's shape in the epilogue, a broadcastable one added afterwards) checked first.
  static func linearOutput(
    _ ctx: OpContext, m: Int, n: Int, outShape: [Int], biasIndex: Int, residualIndex: Int,
    activation: GEMMEpilogue.Activation, _ product: (UnsafeMutablePointer<Float>, GEMMEpilogue) -> Void
  ) throws -> Tensor {
    let bias = ctx.node.inputs.count > biasIndex ? ctx.optionalInput(biasIndex) : nil
    if let bias, bias.count != n || bias.dtype != .float32 {
      throw ctx.shapeError(expected: "bias of \(n) float32 elements", found: "\(bias.shape)")
    }
    let residual = ctx.node.inputs.count > residualIndex ? ctx.optionalInput(residualIndex) : nil
    if let residual, residual.dtype != .float32 {
      throw ctx.dtypeError(input: residualIndex, expected: "float32", found: residual.dtype)
    }
    let residualValues = residual.flatMap { $0.shape == outShape ? $0.floats : nil }
    let count = m * n
    let out = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
      withOptionalPointer(bias?.floats ?? []) { biasPointer in
        withOptionalPointer(residualValues ?? []) { residualPointer in
          product(
            buffer.baseAddress!,
            GEMMEpilogue(bias: biasPointer, activation: activation, residual: residualPointer, residualLD: n))
        }
      }
      initialized = count
    }
    let y = Tensor(shape: outShape, floats: out)
    guard let residual, residualValues == nil else { return y }
    return try addBroadcastResidual(y, residual, ctx)
  }

  /// `body` with the array's base address, or nil for an empty array.
  static func withOptionalPointer<R>(_ values: [Float], _ body: (UnsafePointer<Float>?) -> R) -> R {
    values.isEmpty ? body(nil) : values.withUnsafeBufferPointer { body($0.baseAddress!) }
  }

  /// Element offsets of each broadcast batch's matrix in an operand with batch dims `shape`.
  static func batchOffsets(_ shape: [Int], _ batch: [Int], matrix: Int) -> [Int] {
    Indexing.offsets(shape: batch, strides: Indexing.broadcastStrides(shape, to: batch)).map { $0 * matrix }
  }
}
