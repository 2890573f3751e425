import ModelGraph
import TensorCore

/// `Int8MatMul` (domain ai.prunekit), made by `Int8Fusion` from the quantized-linear subgraphs of ONNX
/// models (PruneKit's `quantize` and onnxruntime's `quantize_dynamic`) and run on `gemmInt8`:
///
///     Y = act( Float(Σ_p (a[i, p] − za_i)·Wq[p, j]) · (sa_i·sw_j) + bias ) + residual
///
/// Inputs: A, Wq (s8 [K, N] initializer), sw ([N] or [1]), bias ("" or [N]), residual ("" or Y's
/// shape), then sa and za (scalars) where the mode needs them. Attributes: `activation` (none / gelu /
/// relu) and `quantization`:
///
/// | quantization | A | sa_i, za_i |
/// |---|---|---|
/// | `row` | Float32 [..., K] | max_p |x[i, p]|/127 per row (`quantizeRowsSymmetric`), 128 |
/// | `static` | Float32 [..., K] | the scalar input 5 (calibrated), 128 |
/// | `tensor` | uint8 / int8 [..., K], from DynamicQuantizeLinear | inputs 5 and 6 |
/// | `quantized_rows` | uint8 [..., K] = q + 128, from a `QuantizeRows` that several nodes share | input 5 ([...], one per row), 128 |
///
/// `QuantizeRows` (domain ai.prunekit): X Float32 [..., K] → (uint8 [..., K], Float32 [...]), the
/// quantization of mode `row` (`quantizeRowsSymmetric`), made by `Int8Fusion.shareRowQuantization`.
enum Int8Linear {
  static let opType = "Int8MatMul"
  static let quantizeRowsOpType = "QuantizeRows"

  /// QuantizeRows(X) → (u8 rows q + 128, per-row scales).
  static func quantizeRows(_ ctx: OpContext) throws -> [Tensor] {
    let x = try ctx.input(0)
    guard x.dtype == .float32, x.rank >= 1 else {
      throw ctx.dtypeError(input: 0, expected: "float32 [..., K]", found: x.dtype)
    }
    let k = x.shape[x.rank - 1]
    let m = k == 0 ? 0 : x.count / k
    var scales = [Float](repeating: 0, count: m)
    var zeros = [Int32](repeating: 0, count: m)
    let q = [UInt8](unsafeUninitializedCapacity: max(m * k, 1)) { buffer, initialized in
      buffer[0] = 128
      x.floats.withUnsafeBufferPointer {
        quantizeRowsSymmetric(
          x: $0.baseAddress!, m: m, k: k, ldx: k, q: buffer.baseAddress!, ldq: k, scales: &scales, zeros: &zeros)
      }
      initialized = max(m * k, 1)
    }
    return [
      try Tensor(shape: x.shape, dtype: .uint8, bytes: m * k == 0 ? [] : q),
      Tensor(shape: Array(x.shape.dropLast()), floats: scales),
    ]
  }

  static func isInt8MatMul(_ node: Node) -> Bool { node.opType == opType && node.domain == Fusion.domain }

  /// The weight packed once for the kernel (when the weight and its scales are initializers).
  static func prepackedKernel(for node: Node, in graph: Graph) throws -> OpKernel? {
    guard isInt8MatMul(node), node.inputs.count >= 3, let w = graph.initializers[node.inputs[1]],
      let s = graph.initializers[node.inputs[2]]
    else { return nil }
    let packed = Weight.dense(try pack(w, s, node: node))
    return { ctx in [try run(ctx, weight: packed)] }
  }

  /// The node on the sparse int8 kernel (`SparseInt8Matrix`), its weight and scales initializers.
  static func sparseKernel(for node: Node, in graph: Graph) throws -> (OpKernel, SparseInt8Matrix) {
    guard let w = graph.initializers[node.inputs[1]], let s = graph.initializers[node.inputs[2]] else {
      throw ModelGraphError.invalidModel("node '\(node.name)': the sparse int8 kernel needs a constant weight")
    }
    let (k, n, scales) = try checked(w, s, node: node)
    let matrix = w.rawBytes.withUnsafeBytes {
      SparseInt8Matrix(
        b: $0.bindMemory(to: Int8.self).baseAddress!, ldb: n, transposed: false, k: k, n: n, scales: scales)
    }
    let weight = Weight.sparse(matrix)
    return ({ ctx in [try run(ctx, weight: weight)] }, matrix)
  }

  /// A packed int8 weight: the dense int8 GEMM's or the sparse kernel's.
  enum Weight {
    case dense(PackedInt8Matrix)
    case sparse(SparseInt8Matrix)

    var k: Int {
      switch self {
      case .dense(let b): return b.k
      case .sparse(let b): return b.k
      }
    }
    var n: Int {
      switch self {
      case .dense(let b): return b.n
      case .sparse(let b): return b.n
      }
    }
    /// Bytes each quantized activation row needs.
    var paddedK: Int {
      switch self {
      case .dense(let b): return b.paddedK
      case .sparse(let b): return b.paddedK
      }
    }
  }

  /// Checks Wq (int8, 2-D) and its scales (1 or N finite, non-zero values): k, n and N scales.
  static func checked(_ w: Tensor, _ s: Tensor, node: Node) throws -> (k: Int, n: Int, scales: [Float]) {
    guard w.dtype == .int8, w.rank == 2, case .bytes = w.storage else {
      throw ModelGraphError.dtypeMismatch(
        node: node.name, name: node.inputs[1], expected: "a 2-D int8 weight",
        found: "\(w.dtype.rawValue) \(w.shape)")
    }
    let (k, n) = (w.shape[0], w.shape[1])
    var scales = s.asFloats()
    guard scales.count == 1 || scales.count == n else {
      throw ModelGraphError.shapeMismatch(
        node: node.name, expected: "weight scale '\(node.inputs[2])' of 1 or \(n) elements",
        found: "\(s.shape)")
    }
    try QuantizeOps.checkScales(scales, name: node.inputs[2], node: node.name)
    if scales.count == 1 { scales = [Float](repeating: scales[0], count: n) }
    return (k, n, scales)
  }

  /// Checks Wq and its scales (`checked`), and packs them for the dense int8 GEMM.
  static func pack(_ w: Tensor, _ s: Tensor, node: Node, kernel: KernelKind = CPUFeatures.int8Kernel) throws
    -> PackedInt8Matrix
  {
    let (k, n, scales) = try checked(w, s, node: node)
    return w.rawBytes.withUnsafeBytes {
      PackedInt8Matrix(
        b: $0.bindMemory(to: Int8.self).baseAddress!, ldb: n, transposed: false, k: k, n: n, scales: scales,
        kernel: kernel)
    }
  }

  /// A quantized as u8 rows of `ld` bytes with a scale and zero point per row, as the node's mode says.
  static func quantizedRows(_ ctx: OpContext, k: Int, ld: Int) throws -> (
    q: [UInt8], scales: [Float], zeros: [Int32]
  ) {
    let a = try ctx.input(0)
    let m = a.count / max(k, 1)
    var q: [UInt8]
    var scales = [Float](repeating: 0, count: m)
    var zeros = [Int32](repeating: 128, count: m)
    switch try ctx.string("quantization", default: "row") {
    case let mode where mode == "row" || mode == "static":
      guard a.dtype == .float32 else { throw ctx.dtypeError(input: 0, expected: "float32", found: a.dtype) }
      var fixed: Float? = nil
      if mode == "static" {
        let s = try QuantizeOps.scales(ctx, 5)
        guard s.count == 1 else {
          throw ctx.shapeError(expected: "a scalar activation scale", found: "\(s.count) values")
        }
        fixed = s[0]
      }
      // Every byte (padding too) is written by the quantizer: no zero fill of a fresh buffer.
      q = [UInt8](unsafeUninitializedCapacity: max(m * ld, 1)) { buffer, initialized in
        buffer[0] = 128
        a.floats.withUnsafeBufferPointer { x in
          quantizeRowsSymmetric(
            x: x.baseAddress!, m: m, k: k, ldx: k, q: buffer.baseAddress!, ldq: ld, scales: &scales,
            zeros: &zeros,
            fixedScale: fixed)
        }
        initialized = max(m * ld, 1)
      }
    case "tensor", "quantized_rows":
      guard a.dtype == .uint8 || a.dtype == .int8, case .bytes(_, let raw) = a.storage else {
        throw ctx.dtypeError(input: 0, expected: "uint8 or int8", found: a.dtype)
      }
      let perRow = try ctx.string("quantization", default: "row") == "quantized_rows"
      let s = try QuantizeOps.scales(ctx, 5)
      let z = perRow ? [128] : ctx.optionalInput(6)?.asInt64s() ?? [0]
      guard s.count == (perRow ? m : 1), z.count == 1 else {
        throw ctx.shapeError(
          expected: perRow ? "\(m) row scales" : "scalar activation scale and zero point",
          found: "\(s.count), \(z.count)")
      }
      // int8 activations become uint8 by adding 128 to the values and to the zero point.
      let shift: UInt8 = a.dtype == .int8 ? 128 : 0
      if ld == k && shift == 0 && !raw.isEmpty {
        q = raw  // already the kernel's layout: no copy
      } else {
        q = [UInt8](repeating: UInt8(truncatingIfNeeded: z[0]), count: max(m * ld, 1))
        q.withUnsafeMutableBufferPointer { out in
          raw.withUnsafeBufferPointer { src in
            for i in 0..<m { for p in 0..<k { out[i * ld + p] = src[i * k + p] &+ shift } }
          }
        }
      }
      scales = perRow ? s : [Float](repeating: s[0], count: m)
      zeros = [Int32](repeating: Int32(z[0]) + Int32(shift), count: m)
    case let other:
      throw ctx.unsupported("quantization", other)
    }
    return (q, scales, zeros)
  }

  static func run(_ ctx: OpContext, weight: Weight?) throws -> Tensor {
    let b = try weight ?? .dense(pack(ctx.input(1), ctx.input(2), node: ctx.node))
    let a = try ctx.input(0)
    guard a.rank >= 1, a.shape[a.rank - 1] == b.k else {
      throw ctx.shapeError(expected: "[..., \(b.k)]", found: "\(a.shape)")
    }
    let m = a.count / max(b.k, 1)
    let (q, scales, zeros) = try quantizedRows(ctx, k: b.k, ld: b.paddedK)
    return try LinearOps.linearOutput(
      ctx, m: m, n: b.n, outShape: Array(a.shape.dropLast()) + [b.n], biasIndex: 3, residualIndex: 4,
      activation: LinearOps.epilogueActivation(ctx)
    ) { y, epilogue in
      switch b {
      case .dense(let packed):
        gemmInt8(
          m: m, a: q, lda: packed.paddedK, rowScales: scales, rowZeros: zeros, b: packed, c: y, ldc: packed.n,
          epilogue: epilogue)
      case .sparse(let matrix):
        spmmInt8(
          m: m, a: q, lda: matrix.paddedK, rowScales: scales, rowZeros: zeros, b: matrix, c: y, ldc: matrix.n,
          epilogue: epilogue)
      }
    }
  }
}
