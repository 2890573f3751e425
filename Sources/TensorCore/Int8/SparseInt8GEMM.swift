import TensorCoreAVX512

/// `gemmInt8` for a sparse weight (same contract and epilogue): C[i, j] = epilogue(Float(Σ_p (a[i, p] −
/// zero[i])·b[p, j]) · (scale[i]·b.scales[j])), a: u8 [m][lda] with lda ≥ b.paddedK.
public func spmmInt8(
  m: Int, a: UnsafePointer<UInt8>, lda: Int, rowScales: UnsafePointer<Float>, rowZeros: UnsafePointer<Int32>,
  b: SparseInt8Matrix, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int = .max,
  epilogue: GEMMEpilogue = .none
) {
  precondition(
    m >= 0 && lda >= b.paddedK && ldc >= b.n, "spmmInt8: m=\(m) lda=\(lda) ldc=\(ldc) for \(b.k)×\(b.n)")
  if m == 0 || b.n == 0 { return }
  guard SparseInt8Matrix.hasFastKernel else {
    spmmInt8Reference(
      b, m: m, a: a, lda: lda, rowScales: rowScales, rowZeros: rowZeros, c: c, ldc: ldc)
    epilogue.applyReference(m: m, n: b.n, c: c, ldc: ldc)
    return
  }
  let (mr, nr) = (sparseInt8KernelRows, sparseInt8KernelColumns)
  let (A, C, S, Z) = (
    SendableConstPointer(a), SendablePointer(c), SendableConstPointer(rowScales),
    SendableConstPointer(rowZeros)
  )
  int8Parallel(m: m, n: b.n, macs: m * b.nonZeros, mr: mr, nr: nr, threads: threads) { tiles, rowTiles in
    let tilesPerBlock = max(1, int8RowBlock / mr)
    withUnsafeTemporaryAllocation(of: Int32.self, capacity: mr * nr) { tile in
      b.tileStart.withUnsafeBufferPointer { starts in
        b.bases.withUnsafeBufferPointer { bases in
          b.payload.withUnsafeBufferPointer { payload in
            for block in stride(from: rowTiles.lowerBound, to: rowTiles.upperBound, by: tilesPerBlock) {
              for s in tiles {
                let (j0, cols) = (s * nr, min(nr, b.n - s * nr))
                let g0 = Int(starts[s])
                for t in block..<min(block + tilesPerBlock, rowTiles.upperBound) {
                  let (i0, rows) = (t * mr, min(mr, m - t * mr))
                  int8SparseKernelVNNI8x16(
                    groups: Int(starts[s + 1]) - g0, bases: bases.baseAddress! + g0,
                    payload: payload.baseAddress! + 128 * g0, a: A.base + i0 * lda, lda: lda, rows: rows,
                    out: tile.baseAddress!)
                  b.columnSums.withUnsafeBufferPointer { sums in
                    b.scales.withUnsafeBufferPointer { colScales in
                      dequantizeTile(
                        tile.baseAddress!, nr: nr, rows: rows, cols: cols, rowScales: S.base + i0,
                        rowZeros: Z.base + i0, colScales: colScales.baseAddress! + j0,
                        colSums: sums.baseAddress! + j0, c: C.base + i0 * ldc + j0, ldc: ldc,
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
  }
}

/// The scalar walk of `SparseInt8Matrix`'s groups (no epilogue): what `int8SparseKernelVNNI8x16`
/// computes, with the dequantization of `gemmInt8Reference`, so both equal it on the dense weight.
public func spmmInt8Reference(
  _ b: SparseInt8Matrix, m: Int, a: UnsafePointer<UInt8>, lda: Int, rowScales: UnsafePointer<Float>,
  rowZeros: UnsafePointer<Int32>, c: UnsafeMutablePointer<Float>, ldc: Int
) {
  let nr = sparseInt8KernelColumns
  for i in 0..<m {
    for s in 0..<(b.tileStart.count - 1) {
      var acc = [Int32](repeating: 0, count: nr)
      for g in Int(b.tileStart[s])..<Int(b.tileStart[s + 1]) {
        let base = Int(b.bases[g])
        for lane in 0..<(4 * nr) where b.payload[128 * g + 64 + lane] != 0 {
          let p = base + Int(b.payload[128 * g + lane])
          acc[lane / 4] += Int32(a[i * lda + p]) * Int32(b.payload[128 * g + 64 + lane])
        }
      }
      for j in (s * nr)..<min(b.n, (s + 1) * nr) {
        let sum = acc[j - s * nr] - rowZeros[i] * b.columnSums[j]
        c[i * ldc + j] = Float(sum) * (rowScales[i] * b.scales[j])
      }
    }
  }
}

/// Runs `body(columnTiles, rowTiles)` over the int8 product's tiles, split between threads: by row
/// tiles when there are enough (each thread reads all of B and only its own rows of A and C), else by
/// column tiles. `macs` decides whether a second thread is worth waking.
func int8Parallel(
  m: Int, n: Int, macs: Int, mr: Int, nr: Int, threads: Int, _ body: (Range<Int>, Range<Int>) -> Void
) {
  let slivers = (n + nr - 1) / nr
  let rowTiles = (m + mr - 1) / mr
  let parts = macs >= gemmParallelMinimumMACs ? min(threads, ThreadPool.shared.threadCount) : 1
  let bySlivers = rowTiles < parts * 4 && slivers >= rowTiles
  let units = bySlivers ? slivers : rowTiles
  func part(_ part: Int) {
    let start = units * part / parts
    let end = units * (part + 1) / parts
    guard end > start else { return }
    body(bySlivers ? start..<end : 0..<slivers, bySlivers ? 0..<rowTiles : start..<end)
  }
  if parts <= 1 { part(0) } else { ThreadPool.shared.parallelFor(parts, threads: parts) { part($0) } }
}
