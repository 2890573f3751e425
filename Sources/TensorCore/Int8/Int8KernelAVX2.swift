// The AVX2 int8 GEMM micro-kernel, for CPUs without AVX-512 VNNI. `vpmaddubsw` (u8×s8 pairs summed to
// int16) saturates at 2·255·127, so activations and weights are widened to int16 and multiplied with
// `vpmaddwd` (pairs summed to int32, exact), reached through the Swift `Builtin` module like the VNNI
// kernel (see TensorCoreAVX512/Int8KernelVNNI.swift for why).
import Builtin

let int8AVX2KernelRows = 6
let int8AVX2KernelColumns = 16

/// Σ of adjacent int16 products per int32 lane (`vpmaddwd`).
@inline(__always) func pmaddwd(_ a: SIMD16<Int16>, _ b: SIMD16<Int16>) -> SIMD8<Int32> {
  var out = SIMD8<Int32>()
  out._storage._value = Builtin.int_x86_avx2_pmadd_wd(a._storage._value, b._storage._value)
  return out
}

/// Two u8 activations at `p` as an int16 pair broadcast to every int32 lane.
@inline(__always) func broadcastPair(_ p: UnsafeRawPointer) -> SIMD16<Int16> {
  let v = UInt32(p.loadUnaligned(as: UInt16.self))
  let pair = Int32(bitPattern: (v & 0xFF) | ((v >> 8) << 16))
  return unsafeBitCast(SIMD8<Int32>(repeating: pair), to: SIMD16<Int16>.self)
}

/// 6×16 u8×s8 → int32 micro-kernel (contract of `int8KernelVNNI8x32` with 6 rows, 16 columns, k in
/// pairs): a: u8 rows (row r at a + min(r, rows − 1)·lda, ≥ 2·kh bytes each); b: packed sliver
/// [kh][16][2] int16; out: int32 tile [6][16].
func int8KernelAVX2x6x16(
  kh: Int, a: UnsafePointer<UInt8>, lda: Int, rows: Int, b: UnsafePointer<Int16>,
  out: UnsafeMutablePointer<Int32>
) {
  let base = UnsafeRawPointer(a)
  let last = rows - 1
  let a0 = base, a1 = base + min(1, last) * lda, a2 = base + min(2, last) * lda
  let a3 = base + min(3, last) * lda, a4 = base + min(4, last) * lda, a5 = base + min(5, last) * lda
  var c00 = SIMD8<Int32>(), c01 = SIMD8<Int32>()
  var c10 = SIMD8<Int32>(), c11 = SIMD8<Int32>()
  var c20 = SIMD8<Int32>(), c21 = SIMD8<Int32>()
  var c30 = SIMD8<Int32>(), c31 = SIMD8<Int32>()
  var c40 = SIMD8<Int32>(), c41 = SIMD8<Int32>()
  var c50 = SIMD8<Int32>(), c51 = SIMD8<Int32>()
  var bp = UnsafeRawPointer(b)
  var o = 0
  for _ in 0..<kh {
    let b0 = bp.loadUnaligned(as: SIMD16<Int16>.self)
    let b1 = bp.loadUnaligned(fromByteOffset: 32, as: SIMD16<Int16>.self)
    var x: SIMD16<Int16>
    x = broadcastPair(a0 + o); c00 &+= pmaddwd(x, b0); c01 &+= pmaddwd(x, b1)
    x = broadcastPair(a1 + o); c10 &+= pmaddwd(x, b0); c11 &+= pmaddwd(x, b1)
    x = broadcastPair(a2 + o); c20 &+= pmaddwd(x, b0); c21 &+= pmaddwd(x, b1)
    x = broadcastPair(a3 + o); c30 &+= pmaddwd(x, b0); c31 &+= pmaddwd(x, b1)
    x = broadcastPair(a4 + o); c40 &+= pmaddwd(x, b0); c41 &+= pmaddwd(x, b1)
    x = broadcastPair(a5 + o); c50 &+= pmaddwd(x, b0); c51 &+= pmaddwd(x, b1)
    o += 2
    bp += 64
  }
  let p = UnsafeMutableRawPointer(out)
  func store(_ row: Int, _ lo: SIMD8<Int32>, _ hi: SIMD8<Int32>) {
    p.storeBytes(of: lo, toByteOffset: row * 64, as: SIMD8<Int32>.self)
    p.storeBytes(of: hi, toByteOffset: row * 64 + 32, as: SIMD8<Int32>.self)
  }
  store(0, c00, c01); store(1, c10, c11); store(2, c20, c21)
  store(3, c30, c31); store(4, c40, c41); store(5, c50, c51)
}
