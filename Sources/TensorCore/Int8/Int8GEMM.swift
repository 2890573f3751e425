import TensorCoreAVX512

/// Quantized matrix product with a Float32 result (dynamic-quantization GEMM, as onnxruntime's
/// MatMulInteger → Cast → Mul, in one pass):
///
///     C[i, j] = epilogue( Float(Σ_p (a[i, p] − zero[i])·b[p, j]) · (scale[i]·b.scales[j]) )
///
///   a: u8 activations [m][lda] (lda ≥ b.paddedK; bytes past k are read and multiplied by 0)
///   rowScales, rowZeros: [m], one scale and zero point per row of A (a per-tensor scheme repeats them)
///   b: s8 weight [k, n] packed with its per-column scales; c: [m][ldc] Float32.
/// The int32 sum is exact (|Σ| < 2³¹ for k < 66,000); the kernels compute Σ a·b − zero·Σ_p b[p, j].
public func gemmInt8(
  m: Int, a: UnsafePointer<UInt8>, lda: Int, rowScales: UnsafePointer<Float>, rowZeros: UnsafePointer<Int32>,
  b: PackedInt8Matrix, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int = .max,
  epilogue: GEMMEpilogue = .none
) {
  precondition(
    m >= 0 && lda >= b.paddedK && ldc >= b.n, "gemmInt8: m=\(m) lda=\(lda) ldc=\(ldc) for \(b.k)×\(b.n)")
  if m == 0 || b.n == 0 { return }
  if b.kernel == .reference {
    b.bytes.withUnsafeBufferPointer { w in
      gemmInt8Reference(
        m: m, n: b.n, k: b.k, a: a, lda: lda, rowScales: rowScales, rowZeros: rowZeros, b: w.baseAddress!,
        ldb: b.n, columnScales: b.scales, c: c, ldc: ldc)
    }
    epilogue.applyReference(m: m, n: b.n, c: c, ldc: ldc)
    return
  }
  let (mr, nr) =
    b.kernel == .avx512 ? (vnniKernelRows, vnniKernelColumns) : (int8AVX2KernelRows, int8AVX2KernelColumns)
  let (A, C, S, Z) = (
    SendableConstPointer(a), SendablePointer(c), SendableConstPointer(rowScales),
    SendableConstPointer(rowZeros)
  )
  int8Parallel(m: m, n: b.n, macs: m * b.n * b.k, mr: mr, nr: nr, threads: threads) { slivers, rowTiles in
    int8Block(
      b, m: m, a: A.base, lda: lda, rowScales: S.base, rowZeros: Z.base, c: C.base, ldc: ldc,
      slivers: slivers, rowTiles: rowTiles, epilogue: epilogue)
  }
}

/// Rows of A per cache block: an mc × k block of u8 rows stays in L2 while the B slivers pass over it.
let int8RowBlock = 96

/// The given slivers × row tiles of C, on the calling thread.
func int8Block(
  _ b: PackedInt8Matrix, m: Int, a: UnsafePointer<UInt8>, lda: Int, rowScales: UnsafePointer<Float>,
  rowZeros: UnsafePointer<Int32>, c: UnsafeMutablePointer<Float>, ldc: Int, slivers: Range<Int>,
  rowTiles: Range<Int>, epilogue: GEMMEpilogue
) {
  let vnni = b.kernel == .avx512
  let (mr, nr) = vnni ? (vnniKernelRows, vnniKernelColumns) : (int8AVX2KernelRows, int8AVX2KernelColumns)
  let tilesPerBlock = max(1, int8RowBlock / mr)
  withUnsafeTemporaryAllocation(of: Int32.self, capacity: mr * nr) { tile in
    b.bytes.withUnsafeBufferPointer { bytes in
      b.words.withUnsafeBufferPointer { words in
        b.scales.withUnsafeBufferPointer { colScales in
          b.columnSums.withUnsafeBufferPointer { colSums in
            for block in stride(from: rowTiles.lowerBound, to: rowTiles.upperBound, by: tilesPerBlock) {
              for s in slivers {
                let j0 = s * nr
                let cols = min(nr, b.n - j0)
                for t in block..<min(block + tilesPerBlock, rowTiles.upperBound) {
                  let i0 = t * mr
                  let rows = min(mr, m - i0)
                  if vnni {
                    int8KernelVNNI8x32(
                      kq: b.paddedK / 4, a: a + i0 * lda, lda: lda, rows: rows,
                      b: bytes.baseAddress! + s * b.paddedK * nr, out: tile.baseAddress!)
                  } else {
                    int8KernelAVX2x6x16(
                      kh: b.paddedK / 2, a: a + i0 * lda, lda: lda, rows: rows,
                      b: words.baseAddress! + s * b.paddedK * nr, out: tile.baseAddress!)
                  }
                  dequantizeTile(
                    tile.baseAddress!, nr: nr, rows: rows, cols: cols, rowScales: rowScales + i0,
                    rowZeros: rowZeros + i0, colScales: colScales.baseAddress! + j0,
                    colSums: colSums.baseAddress! + j0, c: c + i0 * ldc + j0, ldc: ldc,
                    epilogue: epilogue.offset(row: i0, col: j0))
                }
              }
            }
          }
        }
      }
    }
  }
}

/// c[r, j] = act(Float(tile[r, j] − zero[r]·colSums[j]) · (scale[r]·colScales[j]) + bias[j]) + residual[r, j]
/// for the valid part of a tile, in one pass while the tile is in L1 (SIMD16 over columns; the
/// dequantization is `gemmInt8Reference`'s expression, the rest `GEMMEpilogue`'s). `epilogue` is
/// already offset to the tile's corner.
@inline(__always)
func dequantizeTile(
  _ tile: UnsafePointer<Int32>, nr: Int, rows: Int, cols: Int, rowScales: UnsafePointer<Float>,
  rowZeros: UnsafePointer<Int32>, colScales: UnsafePointer<Float>, colSums: UnsafePointer<Int32>,
  c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: GEMMEpilogue
) {
  func run<A: VectorActivation>(_: A.Type) {
    dequantizeTile(
      tile, nr: nr, rows: rows, cols: cols, rowScales: rowScales, rowZeros: rowZeros, colScales: colScales,
      colSums: colSums, c: c, ldc: ldc, epilogue: epilogue, A.self)
  }
  switch epilogue.activation {
  case .none: run(IdentityActivation.self)
  case .relu: run(ReLUActivation.self)
  case .gelu: run(GELUActivation.self)
  }
}

@inline(__always)
func dequantizeTile<A: VectorActivation>(
  _ tile: UnsafePointer<Int32>, nr: Int, rows: Int, cols: Int, rowScales: UnsafePointer<Float>,
  rowZeros: UnsafePointer<Int32>, colScales: UnsafePointer<Float>, colSums: UnsafePointer<Int32>,
  c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: GEMMEpilogue, _: A.Type
) {
  @inline(__always) func load<T: SIMDScalar>(_ p: UnsafePointer<T>) -> SIMD16<T> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<T>.self)
  }
  let bias = epilogue.bias
  for r in 0..<rows {
    let zero = rowZeros[r]
    let scale = rowScales[r]
    let src = tile + r * nr
    let dst = c + r * ldc
    let residual = epilogue.residual.map { $0 + r * epilogue.residualLD }
    var j = 0
    while j + 16 <= cols {
      var v = SIMD16<Float>(load(src + j) &- load(colSums + j) &* zero) * (scale * load(colScales + j))
      if let bias { v += load(bias + j) }
      v = A.apply(v)
      if let residual { v += load(residual + j) }
      UnsafeMutableRawPointer(dst + j).storeBytes(of: v, as: SIMD16<Float>.self)
      j += 16
    }
    while j < cols {
      let v = Float(src[j] &- zero &* colSums[j]) * (scale * colScales[j]) + (bias?[j] ?? 0)
      dst[j] = A.apply(SIMD16(repeating: v))[0] + (residual?[j] ?? 0)
      j += 1
    }
  }
}

/// The scalar definition of `gemmInt8` without epilogue, kept to test the kernels against:
/// b is op(B) row-major [k][ldb] s8.
public func gemmInt8Reference(
  m: Int, n: Int, k: Int, a: UnsafePointer<UInt8>, lda: Int, rowScales: UnsafePointer<Float>,
  rowZeros: UnsafePointer<Int32>, b: UnsafePointer<Int8>, ldb: Int, columnScales: [Float],
  c: UnsafeMutablePointer<Float>, ldc: Int
) {
  for i in 0..<m {
    for j in 0..<n {
      var acc: Int32 = 0
      for p in 0..<k { acc += (Int32(a[i * lda + p]) - rowZeros[i]) * Int32(b[p * ldb + j]) }
      c[i * ldc + j] = Float(acc) * (rowScales[i] * columnScales[j])
    }
  }
}
