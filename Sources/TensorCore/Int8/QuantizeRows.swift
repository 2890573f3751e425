/// Dynamic symmetric int8 quantization of each row of x [m][k] (one scale per row, "per token"), with
/// the rounding of the ONNX ops PruneKit's quantized models write for it:
///
///     s = max(max_p |x[i, p]| / 127, tiny)                  ReduceMax(Abs) → Div → Max
///     q = clamp(round_half_even(x / s), −127, 127)           Div → Round → Clip → Cast(int8)
///
/// stored as u8 q + 128 (the int8 kernels multiply u8 by s8; zero point 128 undoes the shift), rows
/// of `ldq` ≥ k bytes, bytes k..<ldq set to 128 (= 0). NaN elements quantize as 0. With `fixedScale`
/// (static quantization from calibration) every row uses that scale instead.
public func quantizeRowsSymmetric(
  x: UnsafePointer<Float>, m: Int, k: Int, ldx: Int, q: UnsafeMutablePointer<UInt8>, ldq: Int,
  scales: UnsafeMutablePointer<Float>, zeros: UnsafeMutablePointer<Int32>, fixedScale: Float? = nil
) {
  precondition(ldq >= k && ldx >= k, "quantizeRowsSymmetric: k=\(k) ldx=\(ldx) ldq=\(ldq)")
  for i in 0..<m {
    let row = x + i * ldx
    let out = q + i * ldq
    var peak = SIMD16<Float>()
    var p = fixedScale == nil ? 0 : k
    while p + 16 <= k {
      let v = UnsafeRawPointer(row + p).loadUnaligned(as: SIMD16<Float>.self)
      peak = pointwiseMax(peak, pointwiseMax(v, -v))
      p += 16
    }
    var maxAbs = peak.max()
    while p < k {
      maxAbs = Swift.max(maxAbs, row[p].magnitude)
      p += 1
    }
    let s = fixedScale ?? Swift.max(maxAbs / 127, rowScaleFloor)
    scales[i] = s
    zeros[i] = 128
    let vs = SIMD16<Float>(repeating: s)
    p = 0
    while p + 16 <= k {
      var v = (UnsafeRawPointer(row + p).loadUnaligned(as: SIMD16<Float>.self) / vs).rounded(.toNearestOrEven)
      v = v.replacing(with: 0, where: .!(v .== v))
      v = v.clamped(lowerBound: SIMD16(repeating: -127), upperBound: SIMD16(repeating: 127))
      let b = SIMD16<UInt8>(truncatingIfNeeded: SIMD16<Int32>(v) &+ 128)
      UnsafeMutableRawPointer(out + p).storeBytes(of: b, as: SIMD16<UInt8>.self)
      p += 16
    }
    while p < k {
      out[p] = UInt8(quantizeSymmetric(row[p], scale: s) + 128)
      p += 1
    }
    for t in k..<ldq { out[t] = 128 }
  }
}

/// The smallest row scale (an all-zero row still divides by a positive number): the `Max` floor of
/// the exported quantization chain.
public let rowScaleFloor: Float = 1e-30

/// One element of `quantizeRowsSymmetric`, the scalar definition: clamp(round(x / s), −127, 127).
public func quantizeSymmetric(_ x: Float, scale s: Float) -> Int32 {
  let v = (x / s).rounded(.toNearestOrEven)
  if v.isNaN { return 0 }
  return Int32(Swift.max(-127, Swift.min(127, v)))
}
