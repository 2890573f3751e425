import Foundation

// SIMD16<Float> elementary functions used by the activation, softmax and GELU kernels.
// exp: Cody–Waite range reduction x = n·ln2 + r, |r| ≤ ln2/2, degree-7 Taylor polynomial for e^r
// (truncation error r^8/8! < 6e-9 relative), then scaling by 2^n built in the exponent bits.

/// e^x for each lane; x < −87.3 gives 0, x > 88.72 gives +∞, NaN stays NaN. Inputs in (88.3, 88.72]
/// are clamped to 88.3 (so that 2^n stays a normal float); softmax inputs are ≤ 0 after the max shift.
@_transparent
func simdExp(_ x: SIMD16<Float>) -> SIMD16<Float> {
  let log2e: Float = 1.442_695_04
  let ln2Hi: Float = 0.693_145_751_953_125  // ln 2 split so that n·ln2Hi is exact
  let ln2Lo: Float = 1.428_606_765_330_187_045e-06
  let magic: Float = 12_582_912  // 1.5·2^23: adding it rounds to an integer kept in the low bits
  let clamped = simdClamp(x, -87.3, 88.3)
  let shifted = clamped * log2e + magic
  let n = shifted - magic
  var r = clamped - n * ln2Hi
  r = r - n * ln2Lo
  var p = SIMD16<Float>(repeating: 1.0 / 5040)
  p = p * r + 1.0 / 720
  p = p * r + 1.0 / 120
  p = p * r + 1.0 / 24
  p = p * r + 1.0 / 6
  p = p * r + 0.5
  p = p * r + 1
  p = p * r + 1
  // 2^n: n sits in the low mantissa bits of `shifted` (offset by the magic number's bits).
  let nBits = unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- Int32(bitPattern: magic.bitPattern)
  let scale = unsafeBitCast((nBits &+ 127) &<< 23, to: SIMD16<Float>.self)
  var result = p * scale
  result.replace(with: 0, where: x .< -87.3)
  result.replace(with: Float.infinity, where: x .> 88.72)
  result.replace(with: x, where: x .!= x)
  return result
}

// Lane-wise min/max/clamp through compare + blend on concrete types. The stdlib's `pointwiseMax`,
// `pointwiseMin`, `SIMD.clamped` and any comparison reached through a generic `V: SIMD` were measured
// as out-of-line scalar loops (softmax spent 50–80% of its time in them).
@_transparent
func simdMax(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> { a.replacing(with: b, where: a .< b) }
@_transparent
func simdMin(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> { a.replacing(with: b, where: b .< a) }
@_transparent
func simdMax(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { a.replacing(with: b, where: a .< b) }
@_transparent
func simdMax(_ a: SIMD4<Float>, _ b: SIMD4<Float>) -> SIMD4<Float> { a.replacing(with: b, where: a .< b) }
@_transparent
func simdMax(_ a: SIMD2<Float>, _ b: SIMD2<Float>) -> SIMD2<Float> { a.replacing(with: b, where: a .< b) }

/// min(max(x, low), high) lane-wise. `@_transparent`: with `@inline(__always)` the optimiser still
/// emitted it out of line (four xmm blends per call) in softmax, erf and exp.
@_transparent
func simdClamp(_ x: SIMD16<Float>, _ low: Float, _ high: Float) -> SIMD16<Float> {
  simdMin(simdMax(x, SIMD16(repeating: low)), SIMD16(repeating: high))
}

/// 1 / (1 + e^−x)
@_transparent
func simdSigmoid(_ x: SIMD16<Float>) -> SIMD16<Float> {
  1 / (1 + simdExp(-x))
}

/// tanh x = sign(x)·(1 − e)/(1 + e), e = e^(−2|x|); absolute error ≲ 1e-7.
@_transparent
func simdTanh(_ x: SIMD16<Float>) -> SIMD16<Float> {
  let a = x.replacing(with: -x, where: x .< 0)
  let e = simdExp(-2 * a)
  var t = (1 - e) / (1 + e)
  t.replace(with: -t, where: x .< 0)
  t.replace(with: x, where: x .!= x)
  return t
}
