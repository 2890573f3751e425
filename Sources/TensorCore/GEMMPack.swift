// Packing of A and B panels for the blocked GEMM (Goto & van de Geijn 2008, §4): a block of op(A)
// becomes k-major slivers of `mr` rows, a block of op(B) k-major slivers of `nr` columns, so the
// micro-kernel reads both with unit stride. Partial slivers at the edges are padded with zeros, so the
// kernel always computes a full tile.

/// Reads op(X) = X (stored [rows, cols], leading dimension ld) or Xᵀ (X stored [cols, rows]).
struct MatrixView {
  let base: UnsafePointer<Float>
  let ld: Int
  let transposed: Bool

  @inline(__always) subscript(row: Int, col: Int) -> Float {
    transposed ? base[col * ld + row] : base[row * ld + col]
  }

  /// The view of op(X)[row0..., col0...].
  func offset(row: Int, col: Int) -> MatrixView {
    MatrixView(
      base: base + (transposed ? col * ld + row : row * ld + col), ld: ld, transposed: transposed)
  }
}

/// Packs op(A)[0..<mc, 0..<kc] (a view already offset to the block) into `dest`:
/// dest[s][p][r] = op(A)[s·mr + r, p], slivers s of `mr` rows, zero rows past mc.
func packA(_ a: MatrixView, mc: Int, kc: Int, mr: Int, into dest: UnsafeMutablePointer<Float>) {
  var out = dest
  for i0 in stride(from: 0, to: mc, by: mr) {
    let rows = min(mr, mc - i0)
    if a.transposed {
      // op(A)[i, p] = A[p, i]: for each p the sliver's rows are contiguous in memory.
      for p in 0..<kc {
        let src = a.base + p * a.ld + i0
        for r in 0..<rows { out[p * mr + r] = src[r] }
        for r in rows..<mr { out[p * mr + r] = 0 }
      }
    } else if rows == 8 && mr == 8 {
      // op(A)[i, p] = A[i, p]: 8×8 blocks transposed in registers, contiguous stores.
      let src = a.base + i0 * a.ld
      var p = 0
      while p + 8 <= kc {
        transpose8x8(src + p, a.ld, out + p * 8, 8)
        p += 8
      }
      while p < kc {
        for r in 0..<8 { out[p * 8 + r] = src[r * a.ld + p] }
        p += 1
      }
    } else {
      // op(A)[i, p] = A[i, p]: read each row contiguously, scatter with stride mr.
      for r in 0..<rows {
        let src = a.base + (i0 + r) * a.ld
        for p in 0..<kc { out[p * mr + r] = src[p] }
      }
      for r in rows..<mr { for p in 0..<kc { out[p * mr + r] = 0 } }
    }
    out += kc * mr
  }
}

/// Packs op(B)[0..<kc, 0..<nc] (a view already offset to the block) into `dest`:
/// dest[s][p][c] = op(B)[p, s·nr + c], slivers s of `nr` columns, zero columns past nc.
func packB(_ b: MatrixView, kc: Int, nc: Int, nr: Int, into dest: UnsafeMutablePointer<Float>) {
  var out = dest
  for j0 in stride(from: 0, to: nc, by: nr) {
    let cols = min(nr, nc - j0)
    if b.transposed && cols == nr && nr % 8 == 0 {
      // op(B)[p, j] = B[j, p]: 8×8 blocks (8 columns × 8 k steps) transposed in registers.
      let src = b.base + j0 * b.ld
      var p = 0
      while p + 8 <= kc {
        for c0 in stride(from: 0, to: nr, by: 8) {
          transpose8x8(src + c0 * b.ld + p, b.ld, out + p * nr + c0, nr)
        }
        p += 8
      }
      while p < kc {
        for c in 0..<nr { out[p * nr + c] = src[c * b.ld + p] }
        p += 1
      }
    } else if b.transposed {
      // Partial sliver: read each column contiguously, scatter with stride nr.
      for c in 0..<cols {
        let src = b.base + (j0 + c) * b.ld
        for p in 0..<kc { out[p * nr + c] = src[p] }
      }
      for c in cols..<nr { for p in 0..<kc { out[p * nr + c] = 0 } }
    } else if cols == nr && nr % 8 == 0 {
      // op(B)[p, j] = B[p, j]: each k step is a contiguous run of the sliver's columns.
      for p in 0..<kc {
        let src = b.base + p * b.ld + j0
        let row = out + p * nr
        for c in stride(from: 0, to: nr, by: 8) { store8(load8(src + c), row + c) }
      }
    } else {
      for p in 0..<kc {
        let src = b.base + p * b.ld + j0
        let row = out + p * nr
        for c in 0..<cols { row[c] = src[c] }
        for c in cols..<nr { row[c] = 0 }
      }
    }
    out += kc * nr
  }
}

/// dst[q·dstStride + r] = src[r·srcStride + q] for an 8×8 block, in registers: the classic
/// unpack / shuffle / 128-bit-permute transpose (LLVM lowers these lane patterns to vunpcklps,
/// vshufps and vperm2f128).
@inline(__always)
func transpose8x8(
  _ src: UnsafePointer<Float>, _ srcStride: Int, _ dst: UnsafeMutablePointer<Float>, _ dstStride: Int
) {
  let r0 = load8(src), r1 = load8(src + srcStride)
  let r2 = load8(src + 2 * srcStride), r3 = load8(src + 3 * srcStride)
  let r4 = load8(src + 4 * srcStride), r5 = load8(src + 5 * srcStride)
  let r6 = load8(src + 6 * srcStride), r7 = load8(src + 7 * srcStride)
  // t: pairs of rows interleaved within each 128-bit lane.
  let t0 = unpackLow(r0, r1), t1 = unpackHigh(r0, r1), t2 = unpackLow(r2, r3), t3 = unpackHigh(r2, r3)
  let t4 = unpackLow(r4, r5), t5 = unpackHigh(r4, r5), t6 = unpackLow(r6, r7), t7 = unpackHigh(r6, r7)
  // u: column q of four rows in the low lane, column q + 4 in the high lane.
  let u0 = shuffleLow(t0, t2), u1 = shuffleHigh(t0, t2), u2 = shuffleLow(t1, t3), u3 = shuffleHigh(t1, t3)
  let u4 = shuffleLow(t4, t6), u5 = shuffleHigh(t4, t6), u6 = shuffleLow(t5, t7), u7 = shuffleHigh(t5, t7)
  store8(SIMD8(lowHalf: u0.lowHalf, highHalf: u4.lowHalf), dst)
  store8(SIMD8(lowHalf: u1.lowHalf, highHalf: u5.lowHalf), dst + dstStride)
  store8(SIMD8(lowHalf: u2.lowHalf, highHalf: u6.lowHalf), dst + 2 * dstStride)
  store8(SIMD8(lowHalf: u3.lowHalf, highHalf: u7.lowHalf), dst + 3 * dstStride)
  store8(SIMD8(lowHalf: u0.highHalf, highHalf: u4.highHalf), dst + 4 * dstStride)
  store8(SIMD8(lowHalf: u1.highHalf, highHalf: u5.highHalf), dst + 5 * dstStride)
  store8(SIMD8(lowHalf: u2.highHalf, highHalf: u6.highHalf), dst + 6 * dstStride)
  store8(SIMD8(lowHalf: u3.highHalf, highHalf: u7.highHalf), dst + 7 * dstStride)
}

@inline(__always) func unpackLow(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
  SIMD8(a[0], b[0], a[1], b[1], a[4], b[4], a[5], b[5])
}

@inline(__always) func unpackHigh(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
  SIMD8(a[2], b[2], a[3], b[3], a[6], b[6], a[7], b[7])
}

@inline(__always) func shuffleLow(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
  SIMD8(a[0], a[1], b[0], b[1], a[4], a[5], b[4], b[5])
}

@inline(__always) func shuffleHigh(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
  SIMD8(a[2], a[3], b[2], b[3], a[6], a[7], b[6], b[7])
}
