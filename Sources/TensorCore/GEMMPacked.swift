/// A matrix op(B) [k, n] packed once into `gemm`'s B-panel layout, for a weight matrix that is
/// multiplied many times (every linear layer at inference): `gemm(…, packedB:)` then reads the panels
/// directly instead of packing B on every call, as MLAS and oneDNN do with pre-packed weights.
///
/// Layout: for each block of `kc` rows (the tiling's k blocking), the `nr`-column slivers one after
/// another, each kc×nr contiguous, columns past n zero: element (p, j) of the block starting at row
/// p0 is at `p0·nPadded + (j / nr)·kcHere·nr + (p − p0)·nr + j % nr`, kcHere = min(kc, k − p0).
public final class PackedMatrix: @unchecked Sendable {
  public let k: Int
  public let n: Int
  let tiling: GEMMTiling
  let nPadded: Int
  let data: UnsafeMutablePointer<Float>

  /// Packs op(B) ([k, n]: B [k, n] with leading dimension ldb, or Bᵀ of B [n, k] when `transposed`)
  /// for the micro-kernel family `kernel` (`.reference` packs for the AVX2 tile).
  public init(
    b: UnsafePointer<Float>, ldb: Int, transposed: Bool, k: Int, n: Int, kernel: KernelKind = CPUFeatures.kernel
  ) {
    precondition(k >= 0 && n >= 0, "PackedMatrix: negative size k=\(k) n=\(n)")
    self.k = k
    self.n = n
    tiling = kernel == .avx512 && CPUFeatures.hasAVX512 ? .avx512 : .avx2
    nPadded = (n + tiling.nr - 1) / tiling.nr * tiling.nr
    let count = Swift.max(k * nPadded, 1)
    data = UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 64).bindMemory(
      to: Float.self, capacity: count)
    let view = MatrixView(base: b, ld: ldb, transposed: transposed)
    for p0 in stride(from: 0, to: k, by: tiling.kc) {
      packB(
        view.offset(row: p0, col: 0), kc: Swift.min(tiling.kc, k - p0), nc: n, nr: tiling.nr,
        into: data + p0 * nPadded)
    }
  }

  deinit { data.deallocate() }

  /// Bytes held by the packed copy.
  public var byteCount: Int { k * nPadded * 4 }

  var panels: PackedBPanels { PackedBPanels(base: data, nPadded: nPadded, column: 0) }
}

/// The panels of a `PackedMatrix` as one thread's strip of columns sees them.
struct PackedBPanels {
  let base: UnsafePointer<Float>
  let nPadded: Int
  /// First column of the strip (a multiple of nr).
  let column: Int

  func offset(column extra: Int) -> PackedBPanels {
    PackedBPanels(base: base, nPadded: nPadded, column: column + extra)
  }

  /// The packed kc×nc panel at rows p0..<p0 + kc and strip columns j0… (j0 a multiple of nr).
  func panel(row p0: Int, column j0: Int, kc: Int) -> UnsafePointer<Float> {
    base + p0 * nPadded + (column + j0) * kc
  }
}

/// C[m, n] = alpha·op(A)·B + beta·C (+ epilogue) with B pre-packed: `gemm` without packing B.
/// n and k come from `packedB`; op(A) is [m, k].
public func gemm(
  transA: Bool, m: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int, packedB: PackedMatrix,
  beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int = .max,
  epilogue: GEMMEpilogue = .none
) {
  let (n, k) = (packedB.n, packedB.k)
  precondition(m >= 0, "gemm: negative size m=\(m)")
  if m == 0 || n == 0 { return }
  if productIsEmpty(m: m, n: n, k: k, alpha: alpha, beta: beta, c: c, ldc: ldc, epilogue: epilogue) { return }
  let useThreads = gemmThreads(m: m, n: n, k: k, requested: threads)
  withExtendedLifetime(packedB) {
    gemmBlocked(
      packedB.tiling, m: m, n: n, k: k, alpha: alpha, a: MatrixView(base: a, ld: lda, transposed: transA),
      b: MatrixView(base: packedB.data, ld: packedB.nPadded, transposed: false), beta: beta, c: c, ldc: ldc,
      threads: useThreads, epilogue: epilogue, packed: packedB.panels)
  }
}
