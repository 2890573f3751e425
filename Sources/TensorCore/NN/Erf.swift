import Foundation

// Fast erf for SIMD16<Float>. Placeholder: lane-wise libm until the vector approximation lands.

@inline(__always)
func simdErf(_ x: SIMD16<Float>) -> SIMD16<Float> {
  var out = SIMD16<Float>()
  for i in 0..<16 { out[i] = Foundation.erf(x[i]) }
  return out
}

@inline(__always)
func scalarErf(_ x: Float) -> Float { Foundation.erf(x) }
