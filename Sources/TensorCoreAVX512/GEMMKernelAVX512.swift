// AVX-512 GEMM micro-kernels, compiled for `znver4` (see Package.swift). TensorCore calls them only
// after `CPUFeatures` saw avx512f/bw/dq/vl, so a CPU without AVX-512 never executes this module.
// This module is the only one whose object code may contain zmm instructions.

/// Rows × columns of C computed by one call of `gemmKernel8x32`.
public let avx512KernelRows = 8
public let avx512KernelColumns = 32

@inline(__always) func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
  UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}

@inline(__always) func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
  UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
}

/// C row ← alpha·acc + beta·C row (C is not read when beta == 0). `c` points at 32 floats.
@inline(__always) func update(
  _ c: UnsafeMutablePointer<Float>, _ lo: SIMD16<Float>, _ hi: SIMD16<Float>, _ alpha: Float,
  _ beta: Float
) {
  if beta == 0 {
    store16(lo * alpha, c)
    store16(hi * alpha, c + 16)
  } else {
    store16((lo * alpha).addingProduct(load16(c), SIMD16(repeating: beta)), c)
    store16((hi * alpha).addingProduct(load16(c + 16), SIMD16(repeating: beta)), c + 16)
  }
}

/// The 8×32 register-blocked GEMM micro-kernel (Goto & van de Geijn, "Anatomy of high-performance
/// matrix multiplication", 2008): 16 zmm accumulators, 2 B loads and 8 broadcasts per k step.
///   a: packed A sliver [kc][8]   (8 rows of op(A), k-major)
///   b: packed B sliver [kc][32]  (32 columns of op(B), k-major)
///   c: C tile [8, 32] with row stride ldc;  C ← alpha·(a·b) + beta·C.
public func gemmKernel8x32(
  kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>,
  ldc: Int, alpha: Float, beta: Float
) {
  var c00 = SIMD16<Float>(), c01 = SIMD16<Float>()
  var c10 = SIMD16<Float>(), c11 = SIMD16<Float>()
  var c20 = SIMD16<Float>(), c21 = SIMD16<Float>()
  var c30 = SIMD16<Float>(), c31 = SIMD16<Float>()
  var c40 = SIMD16<Float>(), c41 = SIMD16<Float>()
  var c50 = SIMD16<Float>(), c51 = SIMD16<Float>()
  var c60 = SIMD16<Float>(), c61 = SIMD16<Float>()
  var c70 = SIMD16<Float>(), c71 = SIMD16<Float>()
  var ap = a
  var bp = b
  for _ in 0..<kc {
    let b0 = load16(bp)
    let b1 = load16(bp + 16)
    var a: SIMD16<Float>
    a = SIMD16(repeating: ap[0]); c00 = c00.addingProduct(a, b0); c01 = c01.addingProduct(a, b1)
    a = SIMD16(repeating: ap[1]); c10 = c10.addingProduct(a, b0); c11 = c11.addingProduct(a, b1)
    a = SIMD16(repeating: ap[2]); c20 = c20.addingProduct(a, b0); c21 = c21.addingProduct(a, b1)
    a = SIMD16(repeating: ap[3]); c30 = c30.addingProduct(a, b0); c31 = c31.addingProduct(a, b1)
    a = SIMD16(repeating: ap[4]); c40 = c40.addingProduct(a, b0); c41 = c41.addingProduct(a, b1)
    a = SIMD16(repeating: ap[5]); c50 = c50.addingProduct(a, b0); c51 = c51.addingProduct(a, b1)
    a = SIMD16(repeating: ap[6]); c60 = c60.addingProduct(a, b0); c61 = c61.addingProduct(a, b1)
    a = SIMD16(repeating: ap[7]); c70 = c70.addingProduct(a, b0); c71 = c71.addingProduct(a, b1)
    ap += 8
    bp += 32
  }
  update(c + 0 * ldc, c00, c01, alpha, beta)
  update(c + 1 * ldc, c10, c11, alpha, beta)
  update(c + 2 * ldc, c20, c21, alpha, beta)
  update(c + 3 * ldc, c30, c31, alpha, beta)
  update(c + 4 * ldc, c40, c41, alpha, beta)
  update(c + 5 * ldc, c50, c51, alpha, beta)
  update(c + 6 * ldc, c60, c61, alpha, beta)
  update(c + 7 * ldc, c70, c71, alpha, beta)
}
