import Foundation

// Fast erf: erf(x) ≈ x · P(x²) / Q(x²) on |x| ≤ 3.92 (beyond it erf rounds to ±1 in float32, and the
// input is clamped). P has degree 5 and Q degree 6 in x²; the coefficients come from a Lawson-weighted
// linearised least-squares (near-minimax) fit to erf in float64 (scripts/fit_erf.py). Measured error in
// float32 arithmetic: ≤ 3.4e-7 absolute over the whole line (test: ActivationNormTests, tolerance 1e-6).
// One division and 12 FMAs per 16 lanes, no exp; NaN propagates.

private let erfP: (Float, Float, Float, Float, Float, Float) = (
  1.128_379_344_940_185_5, 0.190_678_700_804_710_4, 0.056_099_038_571_119_31,
  0.004_216_590_896_248_817_4, 0.000_438_595_830_928_534_27, 7.936_763_722_682_372e-06
)
private let erfQ: (Float, Float, Float, Float, Float, Float, Float) = (
  1.0, 0.502_319_276_332_855_2, 0.117_151_468_992_233_28, 0.016_372_995_451_092_72,
  0.001_453_587_785_363_197_3, 8.082_699_787_337_333e-05, 3.221_159_374_788_84e-07
)
/// |x| above which erf(x) is ±1 to float32 precision.
private let erfClamp: Float = 3.92

@_transparent
func simdErf(_ x: SIMD16<Float>) -> SIMD16<Float> {
  let c = simdClamp(x, -erfClamp, erfClamp)
  let z = c * c
  var p = SIMD16<Float>(repeating: erfP.5)
  p = p * z + erfP.4
  p = p * z + erfP.3
  p = p * z + erfP.2
  p = p * z + erfP.1
  p = p * z + erfP.0
  var q = SIMD16<Float>(repeating: erfQ.6)
  q = q * z + erfQ.5
  q = q * z + erfQ.4
  q = q * z + erfQ.3
  q = q * z + erfQ.2
  q = q * z + erfQ.1
  q = q * z + erfQ.0
  var r = simdClamp(c * p / q, -1, 1)
  r.replace(with: x, where: x .!= x)
  return r
}

@inline(__always)
func scalarErf(_ x: Float) -> Float {
  simdErf(SIMD16(repeating: x))[0]
}
