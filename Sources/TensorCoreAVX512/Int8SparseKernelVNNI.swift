// The sparse int8 micro-kernel (AVX-512 VNNI + VBMI): `vpermb` gathers, per output column, the 4
// activations of that column's next 4 non-zero weights from a 64-byte window of an activation row,
// and `vpdpbusd` multiplies them by the 4 weights, 16 columns per instruction. Both instructions are
// reached through the Swift `Builtin` module (see Int8KernelVNNI.swift for why). TensorCore calls this
// only after `CPUFeatures.hasAVX512VBMI`.
import Builtin

/// Rows × columns of the int32 tile one call of `int8SparseKernelVNNI8x16` computes.
public let sparseInt8KernelRows = 8
public let sparseInt8KernelColumns = 16
/// Bytes of an activation row one group can index (`vpermb` selects among 64 bytes).
public let sparseInt8Window = 64

/// 64 bytes of `table` picked by the low 6 bits of each byte of `index` (`vpermb`), as 16 int32 lanes.
@inline(__always) func permuteBytes(_ table: SIMD64<UInt8>, _ index: SIMD64<UInt8>) -> SIMD16<Int32> {
  var out = SIMD64<UInt8>()
  out._storage._value = Builtin.int_x86_avx512_permvar_qi_512(table._storage._value, index._storage._value)
  return unsafeBitCast(out, to: SIMD16<Int32>.self)
}

/// acc + the 4 products of lane j: window[index[4j + t]] · weight[4j + t], t < 4.
@inline(__always) func gatherDot(
  _ acc: SIMD16<Int32>, _ row: UnsafeRawPointer, _ index: SIMD64<UInt8>, _ weights: SIMD16<Int32>
) -> SIMD16<Int32> {
  dpbusd(acc, permuteBytes(row.loadUnaligned(as: SIMD64<UInt8>.self), index), weights)
}

/// The 8×16 sparse u8×s8 → int32 micro-kernel over one column tile's groups:
///   a: u8 activation rows, row r at a + min(r, rows − 1)·lda, each readable to base + 64 of every group
///   bases: [groups] window starts (bytes into a row); payload: [groups][128] — 64 index bytes (lane j's
///   4 offsets into the window) then 64 s8 weights (lane j's 4 weights; unused slots are 0)
///   out: int32 tile [8][16] ← Σ_groups Σ_t a[r, base + index]·weight (rows ≥ `rows` repeat the last row)
public func int8SparseKernelVNNI8x16(
  groups: Int, bases: UnsafePointer<Int32>, payload: UnsafePointer<Int8>, a: UnsafePointer<UInt8>,
  lda: Int, rows: Int, out: UnsafeMutablePointer<Int32>
) {
  let (a0, a1, a2, a3, a4, a5, a6, a7) = eightRows(a, lda: lda, rows: rows)
  var c0 = SIMD16<Int32>(), c1 = SIMD16<Int32>(), c2 = SIMD16<Int32>(), c3 = SIMD16<Int32>()
  var c4 = SIMD16<Int32>(), c5 = SIMD16<Int32>(), c6 = SIMD16<Int32>(), c7 = SIMD16<Int32>()
  var bp = UnsafeRawPointer(payload)
  for g in 0..<groups {
    let o = Int(bases[g])
    let index = bp.loadUnaligned(as: SIMD64<UInt8>.self)
    let weights = bp.loadUnaligned(fromByteOffset: 64, as: SIMD16<Int32>.self)
    c0 = gatherDot(c0, a0 + o, index, weights)
    c1 = gatherDot(c1, a1 + o, index, weights)
    c2 = gatherDot(c2, a2 + o, index, weights)
    c3 = gatherDot(c3, a3 + o, index, weights)
    c4 = gatherDot(c4, a4 + o, index, weights)
    c5 = gatherDot(c5, a5 + o, index, weights)
    c6 = gatherDot(c6, a6 + o, index, weights)
    c7 = gatherDot(c7, a7 + o, index, weights)
    bp += 128
  }
  let p = UnsafeMutableRawPointer(out)
  p.storeBytes(of: c0, toByteOffset: 0, as: SIMD16<Int32>.self)
  p.storeBytes(of: c1, toByteOffset: 64, as: SIMD16<Int32>.self)
  p.storeBytes(of: c2, toByteOffset: 128, as: SIMD16<Int32>.self)
  p.storeBytes(of: c3, toByteOffset: 192, as: SIMD16<Int32>.self)
  p.storeBytes(of: c4, toByteOffset: 256, as: SIMD16<Int32>.self)
  p.storeBytes(of: c5, toByteOffset: 320, as: SIMD16<Int32>.self)
  p.storeBytes(of: c6, toByteOffset: 384, as: SIMD16<Int32>.self)
  p.storeBytes(of: c7, toByteOffset: 448, as: SIMD16<Int32>.self)
}
