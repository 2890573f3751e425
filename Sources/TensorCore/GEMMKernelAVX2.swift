// The AVX2 + FMA GEMM micro-kernel: the fallback for CPUs without AVX-512 (the package floor is
// `-target-cpu haswell`). x86-64 with AVX2 has 16 ymm registers: 12 accumulators + 2 B + 1 broadcast.

let avx2KernelRows = 6
let avx2KernelColumns = 16

@inline(__always) func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
  UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always) func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
  UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// C row ← alpha·acc + beta·C row (C is not read when beta == 0). `c` points at 16 floats.
@inline(__always) func update8(
  _ c: UnsafeMutablePointer<Float>, _ lo: SIMD8<Float>, _ hi: SIMD8<Float>, _ alpha: Float,
  _ beta: Float
) {
  if beta == 0 {
    store8(lo * alpha, c)
    store8(hi * alpha, c + 8)
  } else {
    store8((lo * alpha).addingProduct(load8(c), SIMD8(repeating: beta)), c)
    store8((hi * alpha).addingProduct(load8(c + 8), SIMD8(repeating: beta)), c + 8)
  }
}

/// 6×16 register-blocked micro-kernel (same contract as `gemmKernel8x32`, smaller tile):
///   a: packed A sliver [kc][6], b: packed B sliver [kc][16], c: C tile [6, 16] with row stride ldc;
///   C ← alpha·(a·b) + beta·C.
func gemmKernel6x16(
  kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>,
  ldc: Int, alpha: Float, beta: Float
) {
  var c00 = SIMD8<Float>(), c01 = SIMD8<Float>()
  var c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
  var c20 = SIMD8<Float>(), c21 = SIMD8<Float>()
  var c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
  var c40 = SIMD8<Float>(), c41 = SIMD8<Float>()
  var c50 = SIMD8<Float>(), c51 = SIMD8<Float>()
  var ap = a
  var bp = b
  for _ in 0..<kc {
    let b0 = load8(bp)
    let b1 = load8(bp + 8)
    var a: SIMD8<Float>
    a = SIMD8(repeating: ap[0]); c00 = c00.addingProduct(a, b0); c01 = c01.addingProduct(a, b1)
    a = SIMD8(repeating: ap[1]); c10 = c10.addingProduct(a, b0); c11 = c11.addingProduct(a, b1)
    a = SIMD8(repeating: ap[2]); c20 = c20.addingProduct(a, b0); c21 = c21.addingProduct(a, b1)
    a = SIMD8(repeating: ap[3]); c30 = c30.addingProduct(a, b0); c31 = c31.addingProduct(a, b1)
    a = SIMD8(repeating: ap[4]); c40 = c40.addingProduct(a, b0); c41 = c41.addingProduct(a, b1)
    a = SIMD8(repeating: ap[5]); c50 = c50.addingProduct(a, b0); c51 = c51.addingProduct(a, b1)
    ap += 6
    bp += 16
  }
  update8(c + 0 * ldc, c00, c01, alpha, beta)
  update8(c + 1 * ldc, c10, c11, alpha, beta)
  update8(c + 2 * ldc, c20, c21, alpha, beta)
  update8(c + 3 * ldc, c30, c31, alpha, beta)
  update8(c + 4 * ldc, c40, c41, alpha, beta)
  update8(c + 5 * ldc, c50, c51, alpha, beta)
}
