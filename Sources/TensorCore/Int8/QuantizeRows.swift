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
  scales: UnsafeMutablePointer<Float>, zeros: UnsafeMutablePointer<Int32>, fixedScale: Float? = nil,
  threads: Int = .max
) {
  precondition(ldq >= k && ldx >= k, "quantizeRowsSymmetric: k=\(k) ldx=\(ldx) ldq=\(ldq)")
  // Rows split between threads when there is enough work (rows are independent).
  let parts = m * k >= 1 << 16 ? Swift.max(1, Swift.min(threads, ThreadPool.shared.threadCount, m)) : 1
  if parts > 1 {
    let (X, Q, S, Z) = (
      SendableConstPointer(x), SendablePointer(q), SendablePointer(scales), SendablePointer(zeros)
    )
    ThreadPool.shared.parallelFor(parts, threads: parts) { part in
      let (start, end) = (m * part / parts, m * (part + 1) / parts)
      quantizeRowsSymmetric(
        x: X.base + start * ldx, m: end - start, k: k, ldx: ldx, q: Q.base + start * ldq, ldq: ldq,
        scales: S.base + start, zeros: Z.base + start, fixedScale: fixedScale, threads: 1)
    }
    return
  }
  for i in 0..<m {
    let row = x + i * ldx
    let out = q + i * ldq
    let s = fixedScale ?? Swift.max(maxMagnitude(row, count: k) / 127, rowScaleFloor)
    scales[i] = s
    zeros[i] = 128
    // Plain loops the compiler vectorises: clamp(round(x / s)) = round(clamp(x / s)) for integer
    // bounds, and adding 1.5·2²³ rounds a |v| ≤ 2²² half to even into the low bits of the float.
    for p in 0..<k {
      var v = row[p] / s
      v = v == v ? v : 0
      v = Swift.min(Swift.max(v, -127), 127)
      out[p] = UInt8(truncatingIfNeeded: (v + roundingMagic).bitPattern &+ 128)
    }
    for t in k..<ldq { out[t] = 128 }
  }
}

/// 1.5·2²³: v + roundingMagic holds round_half_even(v) in its low mantissa bits for |v| ≤ 2²².
let roundingMagic: Float = 12_582_912

/// max_p |row[p]| as the largest bit pattern with the sign cleared (non-negative floats order like
/// their bits; an integer maximum vectorises where a float one does not). NaN counts as the largest.
@inline(__always)
func maxMagnitude(_ row: UnsafePointer<Float>, count: Int) -> Float {
  var peak: UInt32 = 0
  let bits = UnsafeRawPointer(row).assumingMemoryBound(to: UInt32.self)
  for p in 0..<count { peak = Swift.max(peak, bits[p] & 0x7FFF_FFFF) }
  return Float(bitPattern: peak)
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
