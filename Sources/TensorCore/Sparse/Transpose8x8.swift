// 8×8 Float32 transposes in registers for the sparse kernels' layout changes (rows of X → lanes of a
// tile, tile lanes → rows of Y). Each step builds a vector from two others with constant lane
// indices, which LLVM lowers to single unpack/shuffle/permute instructions (vunpcklps, vshufps,
// vperm2f128 on AVX2) — the classic three-stage AVX transpose.

@inline(__always) private func t8UnpackLow(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
  SIMD8(a[0], b[0], a[1], b[1], a[4], b[4], a[5], b[5])
}

@inline(__always) private func t8UnpackHigh(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
  SIMD8(a[2], b[2], a[3], b[3], a[6], b[6], a[7], b[7])
}

@inline(__always) private func t8PairsLow(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
  SIMD8(a[0], a[1], b[0], b[1], a[4], a[5], b[4], b[5])
}

@inline(__always) private func t8PairsHigh(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
  SIMD8(a[2], a[3], b[2], b[3], a[6], a[7], b[6], b[7])
}

@inline(__always) private func t8Load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
  UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always) private func t8Store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
  UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// dst[c·ldd + r] = src[r·lds + c] for r, c in 0..<8.
@inline(__always)
func transpose8x8(_ src: UnsafePointer<Float>, lds: Int, _ dst: UnsafeMutablePointer<Float>, ldd: Int) {
  let r0 = t8Load(src), r1 = t8Load(src + lds), r2 = t8Load(src + 2 * lds), r3 = t8Load(src + 3 * lds)
  let r4 = t8Load(src + 4 * lds), r5 = t8Load(src + 5 * lds), r6 = t8Load(src + 6 * lds),
    r7 = t8Load(src + 7 * lds)
  let t0 = t8UnpackLow(r0, r1), t1 = t8UnpackHigh(r0, r1), t2 = t8UnpackLow(r2, r3), t3 = t8UnpackHigh(r2, r3)
  let t4 = t8UnpackLow(r4, r5), t5 = t8UnpackHigh(r4, r5), t6 = t8UnpackLow(r6, r7), t7 = t8UnpackHigh(r6, r7)
  let s0 = t8PairsLow(t0, t2), s1 = t8PairsHigh(t0, t2), s2 = t8PairsLow(t1, t3), s3 = t8PairsHigh(t1, t3)
  let s4 = t8PairsLow(t4, t6), s5 = t8PairsHigh(t4, t6), s6 = t8PairsLow(t5, t7), s7 = t8PairsHigh(t5, t7)
  t8Store(SIMD8(lowHalf: s0.lowHalf, highHalf: s4.lowHalf), dst)
  t8Store(SIMD8(lowHalf: s1.lowHalf, highHalf: s5.lowHalf), dst + ldd)
  t8Store(SIMD8(lowHalf: s2.lowHalf, highHalf: s6.lowHalf), dst + 2 * ldd)
  t8Store(SIMD8(lowHalf: s3.lowHalf, highHalf: s7.lowHalf), dst + 3 * ldd)
  t8Store(SIMD8(lowHalf: s0.highHalf, highHalf: s4.highHalf), dst + 4 * ldd)
  t8Store(SIMD8(lowHalf: s1.highHalf, highHalf: s5.highHalf), dst + 5 * ldd)
  t8Store(SIMD8(lowHalf: s2.highHalf, highHalf: s6.highHalf), dst + 6 * ldd)
  t8Store(SIMD8(lowHalf: s3.highHalf, highHalf: s7.highHalf), dst + 7 * ldd)
}

/// dst[c·ldd + r] = src[r·lds + c] for r < rows, c < columns: 8×8 blocks in registers, edges scalar.
@inline(__always)
func transposeBlock(
  _ src: UnsafePointer<Float>, lds: Int, _ dst: UnsafeMutablePointer<Float>, ldd: Int, rows: Int, columns: Int
) {
  let fullRows = rows / 8 * 8
  let fullColumns = columns / 8 * 8
  var c = 0
  while c < fullColumns {
    var r = 0
    while r < fullRows {
      transpose8x8(src + r * lds + c, lds: lds, dst + c * ldd + r, ldd: ldd)
      r += 8
    }
    for rr in fullRows..<rows { for cc in c..<(c + 8) { dst[cc * ldd + rr] = src[rr * lds + cc] } }
    c += 8
  }
  for cc in fullColumns..<columns { for rr in 0..<rows { dst[cc * ldd + rr] = src[rr * lds + cc] } }
}
