import ModelGraph
import TensorCore

/// The ONNX quantization ops, element by element as the spec defines them (round half to even,
/// saturate to the output type): the definition that `Int8MatMul`'s fused kernel is tested against,
/// and what runs any quantized model onnxruntime's quantizer writes that the fusion does not cover.
///
/// | op | computes |
/// |---|---|
/// | QuantizeLinear(x, s, z) | saturate(round(x / s) + z), per tensor or per `axis` (z's type: int8 / uint8) |
/// | DequantizeLinear(q, s, z) | (q − z)·s |
/// | DynamicQuantizeLinear(x) | s = (max(0, max x) − min(0, min x)) / 255, z = saturate(round(−min/s)), y = saturate(round(x/s) + z), uint8 |
/// | MatMulInteger(A, B, za, zb) | Σ (A − za)(B − zb) in int32, za per tensor or per row of A, zb per tensor or per column of B |
///
/// Scales that are zero, NaN or infinite are refused with the scale tensor's name.
enum QuantizeOps {
  static func register(into table: inout [OpKey: OpDefinition]) {
    table[OpKey("QuantizeLinear")] = OpDefinition(opsets: 10...OpRegistry.supportedOpsets.upperBound) { ctx in
      [try quantizeLinear(ctx)]
    }
    table[OpKey("DequantizeLinear")] = OpDefinition(opsets: 10...OpRegistry.supportedOpsets.upperBound) {
      ctx in
      [try dequantizeLinear(ctx)]
    }
    table[OpKey("DynamicQuantizeLinear")] = OpDefinition(opsets: 11...OpRegistry.supportedOpsets.upperBound) {
      ctx in try dynamicQuantizeLinear(ctx)
    }
    table[OpKey("MatMulInteger")] = OpDefinition(opsets: 10...OpRegistry.supportedOpsets.upperBound) { ctx in
      [try matMulInteger(ctx)]
    }
    table[OpKey("Int8MatMul", domain: Fusion.domain)] = OpDefinition { ctx in
      [try Int8Linear.run(ctx, weight: nil)]
    }
    table[OpKey(Int8Linear.quantizeRowsOpType, domain: Fusion.domain)] = OpDefinition { ctx in
      try Int8Linear.quantizeRows(ctx)
    }
  }

  /// The float scales of input `index`, refused when any is zero, NaN or infinite.
  static func scales(_ ctx: OpContext, _ index: Int) throws -> [Float] {
    let s = try ctx.input(index)
    guard s.dtype.isFloatingPoint else {
      throw ctx.dtypeError(input: index, expected: "a float scale", found: s.dtype)
    }
    let values = s.asFloats()
    try checkScales(values, name: ctx.node.inputs[index], node: ctx.node.name)
    return values
  }

  static func checkScales(_ values: [Float], name: String, node: String) throws {
    if let bad = values.firstIndex(where: { $0 == 0 || !$0.isFinite }) {
      throw ModelGraphError.invalidModel(
        "node '\(node)': scale tensor '\(name)' holds \(values[bad]) at element \(bad); quantization scales must be finite and non-zero"
      )
    }
  }

  /// Per-element index into a per-axis parameter of `count` values (or 0 for a per-tensor one).
  static func parameterIndex(shape: [Int], axis: Int, count: Int) -> (Int) -> Int {
    guard count > 1 else { return { _ in 0 } }
    let inner = shape.dropFirst(axis + 1).reduce(1, *)
    let size = shape[axis]
    return { ($0 / inner) % size }
  }

  static func quantizeLinear(_ ctx: OpContext) throws -> Tensor {
    let x = try ctx.input(0)
    let s = try scales(ctx, 1)
    let zero = ctx.optionalInput(2)
    let dtype = zero?.dtype ?? .uint8
    guard dtype == .uint8 || dtype == .int8 else {
      throw ctx.dtypeError(input: 2, expected: "uint8 or int8", found: dtype)
    }
    let z = zero?.asInt64s() ?? [0]
    let axis = try ctx.axis(ctx.int("axis", default: 1), rank: max(x.rank, 1))
    try checkParameters(ctx, x.shape, axis: axis, counts: [s.count, z.count])
    let at = parameterIndex(shape: x.shape, axis: axis, count: s.count)
    let (lo, hi): (Float, Float) = dtype == .uint8 ? (0, 255) : (-128, 127)
    let v = x.asFloats()
    let q = (0..<v.count).map { i -> Int64 in
      let r = (v[i] / s[at(i)]).rounded(.toNearestOrEven) + Float(z[z.count > 1 ? at(i) : 0])
      return r.isNaN ? 0 : Int64(max(lo, min(hi, r)))
    }
    return Tensor(shape: x.shape, int64s: q).converted(to: dtype)
  }

  static func dequantizeLinear(_ ctx: OpContext) throws -> Tensor {
    let q = try ctx.input(0)
    guard [.uint8, .int8, .int32].contains(q.dtype) else {
      throw ctx.dtypeError(input: 0, expected: "uint8, int8 or int32", found: q.dtype)
    }
    let s = try scales(ctx, 1)
    let z = ctx.optionalInput(2)?.asInt64s() ?? [0]
    let axis = try ctx.axis(ctx.int("axis", default: 1), rank: max(q.rank, 1))
    try checkParameters(ctx, q.shape, axis: axis, counts: [s.count, z.count])
    let at = parameterIndex(shape: q.shape, axis: axis, count: s.count)
    let v = q.asInt64s()
    let out = (0..<v.count).map { i in Float(v[i] - z[z.count > 1 ? at(i) : 0]) * s[at(i)] }
    return Tensor(shape: q.shape, floats: out)
  }

  /// Scale and zero point have 1 element, or `shape[axis]` elements (per-axis quantization).
  static func checkParameters(_ ctx: OpContext, _ shape: [Int], axis: Int, counts: [Int]) throws {
    for c in counts where c != 1 && (shape.isEmpty || c != shape[axis]) {
      throw ctx.shapeError(
        expected: "scale / zero point of 1 or \(shape.isEmpty ? 1 : shape[axis]) elements (axis \(axis))",
        found: "\(c)")
    }
  }

  static func dynamicQuantizeLinear(_ ctx: OpContext) throws -> [Tensor] {
    let x = try ctx.floatInput(0)
    let v = x.floats
    // The range over order-preserving integer keys of the floats (a float min/max loop does not
    // vectorise; an integer one does): key = bits, with the magnitude bits flipped when negative.
    var (lowKey, highKey) = (Int32.max, Int32.min)
    var nonFinite: UInt32 = 0
    v.withUnsafeBufferPointer { p in
      for e in p {
        let b = Int32(bitPattern: e.bitPattern)
        let key = b ^ ((b >> 31) & 0x7FFF_FFFF)
        lowKey = Swift.min(lowKey, key)
        highKey = Swift.max(highKey, key)
        nonFinite |= (e.bitPattern & 0x7FFF_FFFF) >= 0x7F80_0000 ? 1 : 0
      }
    }
    func value(_ key: Int32) -> Float {
      Float(bitPattern: UInt32(bitPattern: key ^ ((key >> 31) & 0x7FFF_FFFF)))
    }
    let nan = nonFinite != 0
    let lo = v.isEmpty ? 0 : Swift.min(0, value(lowKey))
    let hi = v.isEmpty ? 0 : Swift.max(0, value(highKey))
    guard lo.isFinite, hi.isFinite, !nan else {
      throw ModelGraphError.invalidModel(
        "node '\(ctx.node.name)': input '\(ctx.node.inputs[0])' holds a non-finite value; DynamicQuantizeLinear needs a finite range"
      )
    }
    var scale = (hi - lo) / 255
    if scale == 0 { scale = 1 }  // all zeros: any scale, q = z = 0
    let zero = max(0, min(255, (-lo / scale).rounded(.toNearestOrEven)))
    // saturate(round(x / s) + z): clamping x / s to [−z, 255 − z] first is the same for integer z;
    // adding 1.5·2²³ leaves round_half_even(x / s) in the low bits, to which z is added (a loop the
    // compiler vectorises).
    let (low, high) = (-zero, 255 - zero)
    let z = UInt32(zero)
    let q = [UInt8](unsafeUninitializedCapacity: v.count) { out, initialized in
      for i in 0..<v.count {
        let t = min(max(v[i] / scale, low), high)
        out[i] = UInt8(truncatingIfNeeded: (t + 12_582_912).bitPattern &+ z)
      }
      initialized = v.count
    }
    return [
      try Tensor(shape: x.shape, dtype: .uint8, bytes: q), Tensor(shape: [], floats: [scale]),
      try Tensor(shape: [], dtype: .uint8, bytes: [UInt8(zero)]),
    ]
  }

  /// MatMulInteger: [..., M, K] × [K, N] (or batched B) → int32, with zero points.
  static func matMulInteger(_ ctx: OpContext) throws -> Tensor {
    let a = try ctx.input(0)
    let b = try ctx.input(1)
    for (i, t) in [(0, a), (1, b)] where t.dtype != .uint8 && t.dtype != .int8 {
      throw ctx.dtypeError(input: i, expected: "uint8 or int8", found: t.dtype)
    }
    guard a.rank >= 2, b.rank == 2, a.shape[a.rank - 1] == b.shape[0] else {
      throw ctx.shapeError(expected: "[..., M, K] × [K, N]", found: "\(a.shape) × \(b.shape)")
    }
    let (k, n) = (b.shape[0], b.shape[1])
    let m = a.count / max(k, 1)
    let za = ctx.optionalInput(2)?.asInt64s() ?? [0]
    let zb = ctx.optionalInput(3)?.asInt64s() ?? [0]
    let rowsPerZero = a.shape[a.rank - 2]
    guard za.count == 1 || za.count == m || za.count == rowsPerZero, zb.count == 1 || zb.count == n else {
      throw ctx.shapeError(
        expected: "zero points of 1 or per-row / per-column elements", found: "\(za.count), \(zb.count)")
    }
    // (B − zb) once, then row i of the product as Σ_p (A[i, p] − za)·(B − zb)[p, :] in int32 (exact:
    // |Σ| ≤ k·255·255 < 2³¹ for k < 33,000), a loop over j the compiler vectorises.
    let av = a.asInt64s().map { Int32(truncatingIfNeeded: $0) }
    let bv = b.asInt64s()
    let centered = (0..<(k * n)).map { Int32(truncatingIfNeeded: bv[$0] - zb[zb.count == 1 ? 0 : $0 % n]) }
    var out = [Int32](repeating: 0, count: m * n)
    out.withUnsafeMutableBufferPointer { o in
      centered.withUnsafeBufferPointer { w in
        for i in 0..<m {
          let zi = Int32(truncatingIfNeeded: za.count == 1 ? za[0] : za[za.count == m ? i : i % rowsPerZero])
          let row = o.baseAddress! + i * n
          for p in 0..<k {
            let x = av[i * k + p] &- zi
            if x == 0 { continue }
            let wp = w.baseAddress! + p * n
            for j in 0..<n { row[j] &+= x &* wp[j] }
          }
        }
      }
    }
    return try Tensor(
      shape: Array(a.shape.dropLast()) + [n], dtype: .int32, bytes: out.withUnsafeBytes { Array($0) })
  }
}
