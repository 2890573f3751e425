// The AVX-512 VNNI int8 GEMM micro-kernel. `vpdpbusd` is reached through the Swift `Builtin` module
// (`-enable-experimental-feature BuiltinModule`, Package.swift): Swift's SIMD types have no integer
// dot-product operation, and LLVM does not form `vpdpbusd`/`vpdpwssd` from widening SIMD multiplies
// written in Swift (checked with objdump: it emits `vpmulld`). TensorCore calls this only after
// `CPUFeatures.hasAVX512VNNI`.
import Builtin

/// Rows × columns of the int32 tile one call of `int8KernelVNNI8x32` computes.
public let vnniKernelRows = 8
public let vnniKernelColumns = 32

/// acc + Σ_{t<4} a.u8[4j+t] · b.s8[4j+t] per int32 lane j (`vpdpbusd`, no saturation).
@inline(__always) func dpbusd(_ acc: SIMD16<Int32>, _ a: SIMD16<Int32>, _ b: SIMD16<Int32>) -> SIMD16<Int32> {
  var out = acc
  out._storage._value = Builtin.int_x86_avx512_vpdpbusd_512(
    acc._storage._value, a._storage._value, b._storage._value)
  return out
}

/// The 8 row pointers of a micro-kernel's tile: row r at a + min(r, rows − 1)·lda (rows ≥ 1), so rows
/// past the end repeat the last one.
@inline(__always) func eightRows(_ a: UnsafePointer<UInt8>, lda: Int, rows: Int) -> (
  UnsafeRawPointer, UnsafeRawPointer, UnsafeRawPointer, UnsafeRawPointer, UnsafeRawPointer, UnsafeRawPointer,
  UnsafeRawPointer, UnsafeRawPointer
) {
  let base = UnsafeRawPointer(a)
  func row(_ r: Int) -> UnsafeRawPointer { base + min(r, rows - 1) * lda }
  return (base, row(1), row(2), row(3), row(4), row(5), row(6), row(7))
}

@inline(__always) func loadWords(_ p: UnsafeRawPointer) -> SIMD16<Int32> {
  p.loadUnaligned(as: SIMD16<Int32>.self)
}

/// The 8×32 u8×s8 → int32 micro-kernel: 16 zmm accumulators, 2 B loads and 8 broadcasts of 4 bytes
/// of A per step of 4 k.
///   a: rows of u8 activations, row r at a + min(r, rows − 1)·lda (lda ≥ 4·kq bytes, rows ≥ 1)
///   b: packed B sliver [kq][32][4] s8 (4 consecutive k of one column per int32 lane)
///   out: int32 tile [8][32] ← Σ_p a[r, p]·b[p, j] (rows ≥ `rows` repeat the last row)
public func int8KernelVNNI8x32(
  kq: Int, a: UnsafePointer<UInt8>, lda: Int, rows: Int, b: UnsafePointer<Int8>,
  out: UnsafeMutablePointer<Int32>
) {
  let (a0, a1, a2, a3, a4, a5, a6, a7) = eightRows(a, lda: lda, rows: rows)
  var c00 = SIMD16<Int32>(), c01 = SIMD16<Int32>()
  var c10 = SIMD16<Int32>(), c11 = SIMD16<Int32>()
  var c20 = SIMD16<Int32>(), c21 = SIMD16<Int32>()
  var c30 = SIMD16<Int32>(), c31 = SIMD16<Int32>()
  var c40 = SIMD16<Int32>(), c41 = SIMD16<Int32>()
  var c50 = SIMD16<Int32>(), c51 = SIMD16<Int32>()
  var c60 = SIMD16<Int32>(), c61 = SIMD16<Int32>()
  var c70 = SIMD16<Int32>(), c71 = SIMD16<Int32>()
  var bp = UnsafeRawPointer(b)
  var o = 0
  for _ in 0..<kq {
    let b0 = loadWords(bp)
    let b1 = loadWords(bp + 64)
    var x: SIMD16<Int32>
    x = SIMD16(repeating: a0.loadUnaligned(fromByteOffset: o, as: Int32.self))
    c00 = dpbusd(c00, x, b0); c01 = dpbusd(c01, x, b1)
    x = SIMD16(repeating: a1.loadUnaligned(fromByteOffset: o, as: Int32.self))
    c10 = dpbusd(c10, x, b0); c11 = dpbusd(c11, x, b1)
    x = SIMD16(repeating: a2.loadUnaligned(fromByteOffset: o, as: Int32.self))
    c20 = dpbusd(c20, x, b0); c21 = dpbusd(c21, x, b1)
    x = SIMD16(repeating: a3.loadUnaligned(fromByteOffset: o, as: Int32.self))
    c30 = dpbusd(c30, x, b0); c31 = dpbusd(c31, x, b1)
    x = SIMD16(repeating: a4.loadUnaligned(fromByteOffset: o, as: Int32.self))
    c40 = dpbusd(c40, x, b0); c41 = dpbusd(c41, x, b1)
    x = SIMD16(repeating: a5.loadUnaligned(fromByteOffset: o, as: Int32.self))
    c50 = dpbusd(c50, x, b0); c51 = dpbusd(c51, x, b1)
    x = SIMD16(repeating: a6.loadUnaligned(fromByteOffset: o, as: Int32.self))
    c60 = dpbusd(c60, x, b0); c61 = dpbusd(c61, x, b1)
    x = SIMD16(repeating: a7.loadUnaligned(fromByteOffset: o, as: Int32.self))
    c70 = dpbusd(c70, x, b0); c71 = dpbusd(c71, x, b1)
    o += 4
    bp += 128
  }
  let p = UnsafeMutableRawPointer(out)
  func store(_ row: Int, _ lo: SIMD16<Int32>, _ hi: SIMD16<Int32>) {
    p.storeBytes(of: lo, toByteOffset: row * 128, as: SIMD16<Int32>.self)
    p.storeBytes(of: hi, toByteOffset: row * 128 + 64, as: SIMD16<Int32>.self)
  }
  store(0, c00, c01); store(1, c10, c11); store(2, c20, c21); store(3, c30, c31)
  store(4, c40, c41); store(5, c50, c51); store(6, c60, c61); store(7, c70, c71)
}
