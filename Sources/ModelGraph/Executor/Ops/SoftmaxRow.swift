/// A contiguous softmax row with a vectorised exp, for the fused attention's [S] score rows.
///
/// exp(x) = 2^k · e^r with k = round(x·log₂e) and r = x − k·ln 2 (Cody–Waite split of ln 2, so r is
/// exact to ~1 ulp), e^r from its degree-6 Taylor polynomial on |r| ≤ ln2/2 (relative error < 2e-7,
/// see `fastExpTolerance`). Inputs are clamped to [−87.3, 88.3], so e^x stays a normal float.
enum SoftmaxRow {
  /// Max relative error of `fastExp` against `expf` on [−87, 88] (checked in ExecutorFusionTests).
  static let fastExpTolerance: Float = 5e-7

  @inline(__always)
  static func fastExp(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let c = x.clamped(lowerBound: SIMD8(repeating: -87.3), upperBound: SIMD8(repeating: 88.3))
    let k = (c * 1.442_695_04).rounded(.toNearestOrEven)
    let r = c - k * 0.693_145_751_953_125 - k * 1.428_606_765_330_187e-06
    var p = SIMD8<Float>(repeating: 1.0 / 720)
    p = p * r + 1.0 / 120
    p = p * r + 1.0 / 24
    p = p * r + 1.0 / 6
    p = p * r + 0.5
    p = p * r + 1
    p = p * r + 1
    let bits = (SIMD8<Int32>(k, rounding: .toNearestOrEven) &+ 127) &<< 23
    return p * unsafeBitCast(bits, to: SIMD8<Float>.self)
  }

  /// Scalar form of `fastExp` (the tail of a row).
  @inline(__always)
  static func fastExp(_ x: Float) -> Float { fastExp(SIMD8(repeating: x))[0] }

  /// In place: p[j] ← exp(p[j] − max) / Σ exp(p[i] − max), j < count.
  @inline(__always)
  static func softmax(_ p: UnsafeMutablePointer<Float>, count: Int) {
    var m = -Float.infinity
    for j in 0..<count { m = max(m, p[j]) }
    let mv = SIMD8<Float>(repeating: m)
    var sumv = SIMD8<Float>(repeating: 0)
    var j = 0
    let raw = UnsafeMutableRawPointer(p)
    while j + 8 <= count {
      let e = fastExp(raw.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self) - mv)
      raw.storeBytes(of: e, toByteOffset: j * 4, as: SIMD8<Float>.self)
      sumv += e
      j += 8
    }
    var sum = sumv.sum()
    while j < count {
      p[j] = fastExp(p[j] - m)
      sum += p[j]
      j += 1
    }
    let inv = 1 / sum
    for i in 0..<count { p[i] *= inv }
  }
}
