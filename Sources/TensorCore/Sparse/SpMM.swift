import Synchronization

// Sparse weight × dense activation: Y[m, n] = X[m, k] · W[k, n] (+ epilogue), W a `SparseMatrix`.
//
// Variants (each checked against `spmmReference`, then timed by `prunekit bench kernels`):
//   csr  — XNNPACK's SpMM idea on row-major activations: a tile of 32 rows of X is transposed into
//          xt [k][32] (one panel of 128 inputs = 16 KB stays in L1), then for each output row j the
//          kernel broadcasts each non-zero w(p, j) and FMAs it into two SIMD16 accumulators over the
//          32 rows of xt[p] — the dense dimension m is the vector, the weight is the scalar. The [n][32]
//          result is transposed back into Y and the epilogue (bias, activation, residual) applied.
//   nm   — the same tile loop with N:M groups: `keep` values per `group` inputs, 1-byte offsets,
//          no row pointers.
//   csc  — for small m (batch-1 inference): Han et al.'s EIE in software: for every *non-zero*
//          activation x[p], walk input p's non-zero weights and scatter x[p]·w into y (in L1). Zero
//          activations (ReLU outputs, blank pixels) cost one compare; static weight sparsity ×
//          dynamic activation sparsity.

/// Rows of X per tile of the `.csr`/`.nm` kernels (two SIMD16 vectors).
let spmmTileRows = 32

/// Below this many rows, `.csr` computes each output as a dot product over its non-zeros (gathering
/// x[p]) instead of transposing a mostly empty 32-row tile.
let spmmDotRows = 4

/// Y[m, n] = epilogue(X[m, k] · W) with W sparse; Y (row stride ldy) is overwritten, not read.
/// X has row stride ldx. `threads` caps the threads used (default: all of `ThreadPool.shared`).
public func spmm(
  _ w: SparseMatrix, m: Int, x: UnsafePointer<Float>, ldx: Int, y: UnsafeMutablePointer<Float>, ldy: Int,
  threads: Int = .max, epilogue: GEMMEpilogue = .none
) {
  precondition(m >= 0 && ldx >= w.k && ldy >= w.n, "spmm: m=\(m) ldx=\(ldx) ldy=\(ldy) for k=\(w.k) n=\(w.n)")
  if m == 0 || w.n == 0 { return }
  let work = m * max(w.storedCount, 1)
  let useThreads = work < 1 << 16 ? 1 : min(threads, ThreadPool.shared.threadCount)
  switch w.values {
  case .floats(let v):
    v.withUnsafeBufferPointer { vp in
      spmmDispatch(
        w, FloatValues(base: vp.baseAddress ?? UnsafePointer(bitPattern: 16)!), m: m, x: x, ldx: ldx, y: y,
        ldy: ldy, threads: useThreads, epilogue: epilogue)
    }
  case .codebook(let codes, let table):
    codes.withUnsafeBufferPointer { cp in
      table.withUnsafeBufferPointer { tp in
        spmmDispatch(
          w, CodebookValues(codes: cp.baseAddress ?? UnsafePointer(bitPattern: 16)!, table: tp.baseAddress!),
          m: m, x: x, ldx: ldx, y: y, ldy: ldy, threads: useThreads, epilogue: epilogue)
      }
    }
  }
}

/// The definition: every stored entry's product added in storage order, then the scalar epilogue.
public func spmmReference(
  _ w: SparseMatrix, m: Int, x: UnsafePointer<Float>, ldx: Int, y: UnsafeMutablePointer<Float>, ldy: Int,
  epilogue: GEMMEpilogue = .none
) {
  for i in 0..<m { (y + i * ldy).update(repeating: 0, count: w.n) }
  w.forEachEntry { p, j, value in
    for i in 0..<m { y[i * ldy + j] += x[i * ldx + p] * value }
  }
  epilogue.applyReference(m: m, n: w.n, c: y, ldc: ldy)
}

/// Where a kernel reads entry e's value: Float32, or a code into a centroid table.
protocol SparseValueReader {
  func value(_ e: Int) -> Float
}

struct FloatValues: SparseValueReader, @unchecked Sendable {
  let base: UnsafePointer<Float>
  @inline(__always) func value(_ e: Int) -> Float { base[e] }
}

struct CodebookValues: SparseValueReader, @unchecked Sendable {
  let codes: UnsafePointer<UInt8>
  let table: UnsafePointer<Float>
  @inline(__always) func value(_ e: Int) -> Float { table[Int(codes[e])] }
}

@inline(__always)
private func spmmDispatch<V: SparseValueReader>(
  _ w: SparseMatrix, _ values: V, m: Int, x: UnsafePointer<Float>, ldx: Int, y: UnsafeMutablePointer<Float>,
  ldy: Int, threads: Int, epilogue: GEMMEpilogue
) {
  w.starts.withUnsafeBufferPointer { sp in
    w.indices.withUnsafeBufferPointer { ip in
      let operands = SparseOperands(
        matrix: w, values: values, starts: sp.baseAddress ?? UnsafePointer(bitPattern: 16)!,
        indices: ip.baseAddress ?? UnsafePointer(bitPattern: 16)!)
      let (X, Y) = (SendableConstPointer(x), SendablePointer(y))
      if w.layout == .csc || w.layout == .blocked {
        ThreadPool.shared.parallelFor(m, threads: threads) { i in
          operands.inputMajorRow(
            x: X.base + i * ldx, y: Y.base + i * ldy, epilogue: epilogue.offset(row: i, col: 0))
        }
        return
      }
      if m < spmmDotRows && w.layout == .csr {
        ThreadPool.shared.parallelFor(m, threads: threads) { i in
          operands.csrDotRow(
            x: X.base + i * ldx, y: Y.base + i * ldy, epilogue: epilogue.offset(row: i, col: 0))
        }
        return
      }
      let tiles = (m + spmmTileRows - 1) / spmmTileRows
      // Few tiles for the threads: split the outputs too (each piece transposes its X tile itself).
      let chunks = tiles >= threads ? 1 : max(1, min(threads, w.n / 64))
      let chunkSize = (w.n + chunks - 1) / chunks
      ThreadPool.shared.parallelFor(tiles * chunks, threads: threads) { item in
        let (tile, chunk) = (item / chunks, item % chunks)
        let m0 = tile * spmmTileRows
        let n0 = chunk * chunkSize
        operands.tile(
          x: X.base + m0 * ldx, ldx: ldx, rows: min(spmmTileRows, m - m0),
          outputs: n0..<min(w.n, n0 + chunkSize),
          y: Y.base + m0 * ldy, ldy: ldy, epilogue: epilogue.offset(row: m0, col: 0))
      }
    }
  }
}

/// A sparse matrix's raw arrays, borrowed for one `spmm` call.
struct SparseOperands<V: SparseValueReader>: @unchecked Sendable {
  let matrix: SparseMatrix
  let values: V
  let starts: UnsafePointer<Int32>
  let indices: UnsafePointer<UInt16>

  /// One row of X through the `.csc` layout: y[0..<n] = epilogue(x · W), walking only the inputs that
  /// differ from the row's most common value b (0 after a ReLU; the background of a normalised
  /// image, whose blank pixels are not 0): y = b·Σ_p W[p, :] + Σ over x[p] ≠ b of (x[p] − b)·W[p, :].
  /// b is x[0] when x[0] occurs more often than 0, else 0 (one pass of compares over x).
  ///
  /// `.blocked` does the same with 16 outputs per step: y[16b..<16b+16] += (x[p] − b)·block, the sums
  /// kept in a zero-padded scratch row so every block is one SIMD16 load, FMA and store.
  @inline(__always)
  func inputMajorRow(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, epilogue: GEMMEpilogue) {
    let (k, n) = (matrix.k, matrix.n)
    // Bit patterns, not float compares: integer compares are branch-free (a float != tests for NaN
    // with a second, data-dependent branch). −0 then counts as a value of its own, which is harmless.
    var baseline: Float = 0
    let first = k > 0 ? x[0] : 0
    if first != 0 && first.isFinite {
      let (firstBits, zeroBits) = (first.bitPattern, Float(0).bitPattern)
      var same = 0
      var zeros = 0
      for p in 0..<k {
        let bits = x[p].bitPattern
        same &+= bits == firstBits ? 1 : 0
        zeros &+= bits == zeroBits ? 1 : 0
      }
      if same > zeros { baseline = first }
    }
    let baselineBits = baseline.bitPattern
    if matrix.layout == .blocked {
      let padded = (n + 15) / 16 * 16
      SparseScratch.shared.with(floats: padded) { sums in
        if baseline == 0 {
          sums.update(repeating: 0, count: padded)
        } else {
          matrix.outputSums.withUnsafeBufferPointer { s in for j in 0..<n { sums[j] = baseline * s[j] } }
          (sums + n).update(repeating: 0, count: padded - n)
        }
        guard case .floats(let v) = matrix.values else { preconditionFailure("blocked layout holds floats") }
        v.withUnsafeBufferPointer { vp in
          let blocks = vp.baseAddress!
          for p in 0..<k {
            let raw = x[p]
            if raw.bitPattern == baselineBits { continue }
            let xv = SIMD16<Float>(repeating: raw - baseline)
            var e = Int(starts[p])
            let end = Int(starts[p + 1])
            while e < end {
              let out = sums + Int(indices[e]) &* 16
              sparseStore16(sparseLoad16(out).addingProduct(xv, sparseLoad16(blocks + e &* 16)), out)
              e += 1
            }
          }
        }
        y.update(from: sums, count: n)
      }
      epilogue.apply(m: 1, n: n, c: y, ldc: n)
      return
    }
    if baseline == 0 {
      y.update(repeating: 0, count: n)
    } else {
      matrix.outputSums.withUnsafeBufferPointer { sums in
        for j in 0..<n { y[j] = baseline * sums[j] }
      }
    }
    // The inputs to walk, listed without a branch per input (which of them differ from b is data
    // dependent and would mispredict ~2 of every 10).
    // (Scratch, not withUnsafeTemporaryAllocation: a stack allocation here was miscompiled into a
    // null pointer in the blocked variant, Swift 6.3 -O.)
    SparseScratch.shared.with(floats: max(k, 1)) { scratch in
      scratch.withMemoryRebound(to: Int32.self, capacity: max(k, 1)) { active in
        var count = 0
        for p in 0..<k {
          active[count] = Int32(truncatingIfNeeded: p)
          count &+= x[p].bitPattern != baselineBits ? 1 : 0
        }
        for a in 0..<count {
          let p = Int(active[a])
          let xv = x[p] - baseline
          var e = Int(starts[p])
          let end = Int(starts[p + 1])
          while e + 4 <= end {
            let (j0, j1, j2, j3) = (
              Int(indices[e]), Int(indices[e + 1]), Int(indices[e + 2]), Int(indices[e + 3])
            )
            y[j0] += xv * values.value(e)
            y[j1] += xv * values.value(e + 1)
            y[j2] += xv * values.value(e + 2)
            y[j3] += xv * values.value(e + 3)
            e += 4
          }
          while e < end {
            y[Int(indices[e])] += xv * values.value(e)
            e += 1
          }
        }
      }
    }
    epilogue.apply(m: 1, n: n, c: y, ldc: n)
  }

  /// One row of X through the `.csr` layout as dot products: y[j] = Σ w(p, j)·x[p] over row j's
  /// non-zeros, four partial sums per row so the gathers overlap.
  @inline(__always)
  func csrDotRow(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, epilogue: GEMMEpilogue) {
    let n = matrix.n
    for panel in 0..<matrix.panelCount {
      let rowStarts = starts + panel * (n + 1)
      let xp = x + panel * matrix.panelWidth
      for j in 0..<n {
        var (s0, s1, s2, s3): (Float, Float, Float, Float) = (0, 0, 0, 0)
        var e = Int(rowStarts[j])
        let end = Int(rowStarts[j + 1])
        while e + 4 <= end {
          s0 += values.value(e) * xp[Int(indices[e])]
          s1 += values.value(e + 1) * xp[Int(indices[e + 1])]
          s2 += values.value(e + 2) * xp[Int(indices[e + 2])]
          s3 += values.value(e + 3) * xp[Int(indices[e + 3])]
          e += 4
        }
        while e < end {
          s0 += values.value(e) * xp[Int(indices[e])]
          e += 1
        }
        let sum = (s0 + s1) + (s2 + s3)
        y[j] = panel == 0 ? sum : y[j] + sum
      }
    }
    epilogue.apply(m: 1, n: n, c: y, ldc: n)
  }

  /// Rows `rows` (≤ 32) of Y, outputs `outputs`, through the `.csr` or `.nm` layout.
  func tile(
    x: UnsafePointer<Float>, ldx: Int, rows: Int, outputs: Range<Int>, y: UnsafeMutablePointer<Float>,
    ldy: Int,
    epilogue: GEMMEpilogue
  ) {
    let lanes = spmmTileRows
    let k = matrix.k
    SparseScratch.shared.with(floats: k * lanes + outputs.count * lanes) { scratch in
      let xt = scratch  // [k][32]
      let yt = scratch + k * lanes  // [outputs][32]
      transposeRows(x, ldx: ldx, rows: rows, columns: k, into: xt, lanes: lanes)
      switch matrix.layout {
      case .csr:
        for panel in 0..<matrix.panelCount {
          csrPanel(
            starts: starts + panel * (matrix.n + 1), xt: xt + panel * matrix.panelWidth * lanes,
            xStride: lanes,
            outputs: outputs, out: yt, outStride: lanes, accumulate: panel > 0)
        }
      case .nm(let keep, let group):
        nmRows(keep: keep, group: group, xt: xt, outputs: outputs, yt: yt)
      case .csc, .blocked:
        preconditionFailure("spmm tile: \(matrix.layout) runs row by row")
      }
      // yt [outputs][32] → Y rows (8×8 blocks in registers).
      transposeBlock(yt, lds: lanes, y + outputs.lowerBound, ldd: ldy, rows: outputs.count, columns: rows)
      epilogue.offset(row: 0, col: outputs.lowerBound).apply(
        m: rows, n: outputs.count, c: y + outputs.lowerBound, ldc: ldy)
    }
  }

  /// out[(j − lower)·outStride ..< +32] (+)= Σ over panel entries of row j: w · xt[p·xStride ..< +32];
  /// two entries per step, four chains. xt is a transposed tile (xStride 32) or, for channel-major
  /// activations, the activations themselves (xStride = their row stride).
  @inline(__always)
  func csrPanel(
    starts: UnsafePointer<Int32>, xt: UnsafePointer<Float>, xStride: Int, outputs: Range<Int>,
    out base: UnsafeMutablePointer<Float>, outStride: Int, accumulate: Bool
  ) {
    for j in outputs {
      let out = base + (j - outputs.lowerBound) * outStride
      var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), b0 = SIMD16<Float>(), b1 = SIMD16<Float>()
      if accumulate {
        a0 = sparseLoad16(out)
        a1 = sparseLoad16(out + 16)
      }
      var e = Int(starts[j])
      let end = Int(starts[j + 1])
      while e + 2 <= end {
        let w0 = SIMD16<Float>(repeating: values.value(e))
        let w1 = SIMD16<Float>(repeating: values.value(e + 1))
        let p0 = xt + Int(indices[e]) &* xStride
        let p1 = xt + Int(indices[e + 1]) &* xStride
        a0 = a0.addingProduct(w0, sparseLoad16(p0))
        a1 = a1.addingProduct(w0, sparseLoad16(p0 + 16))
        b0 = b0.addingProduct(w1, sparseLoad16(p1))
        b1 = b1.addingProduct(w1, sparseLoad16(p1 + 16))
        e += 2
      }
      if e < end {
        let w0 = SIMD16<Float>(repeating: values.value(e))
        let p0 = xt + Int(indices[e]) &* xStride
        a0 = a0.addingProduct(w0, sparseLoad16(p0))
        a1 = a1.addingProduct(w0, sparseLoad16(p0 + 16))
      }
      sparseStore16(a0 + b0, out)
      sparseStore16(a1 + b1, out + 16)
    }
  }

  /// N:M rows: entry t of group g of row j is at (j·groups + g)·keep + t, input g·group + offset.
  @inline(__always)
  private func nmRows(
    keep: Int, group: Int, xt: UnsafePointer<Float>, outputs: Range<Int>, yt: UnsafeMutablePointer<Float>
  ) {
    let groups = matrix.k / group
    for j in outputs {
      var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), b0 = SIMD16<Float>(), b1 = SIMD16<Float>()
      var e = j * groups * keep
      var groupBase = xt
      let step = group &* spmmTileRows
      if keep == 2 {
        for _ in 0..<groups {
          let w0 = SIMD16<Float>(repeating: values.value(e))
          let w1 = SIMD16<Float>(repeating: values.value(e + 1))
          let p0 = groupBase + Int(indices[e]) &* spmmTileRows
          let p1 = groupBase + Int(indices[e + 1]) &* spmmTileRows
          a0 = a0.addingProduct(w0, sparseLoad16(p0))
          a1 = a1.addingProduct(w0, sparseLoad16(p0 + 16))
          b0 = b0.addingProduct(w1, sparseLoad16(p1))
          b1 = b1.addingProduct(w1, sparseLoad16(p1 + 16))
          e += 2
          groupBase += step
        }
      } else {
        for _ in 0..<groups {
          for _ in 0..<keep {
            let w0 = SIMD16<Float>(repeating: values.value(e))
            let p0 = groupBase + Int(indices[e]) &* spmmTileRows
            a0 = a0.addingProduct(w0, sparseLoad16(p0))
            a1 = a1.addingProduct(w0, sparseLoad16(p0 + 16))
            e += 1
          }
          groupBase += step
        }
      }
      let out = yt + (j - outputs.lowerBound) * spmmTileRows
      sparseStore16(a0 + b0, out)
      sparseStore16(a1 + b1, out + 16)
    }
  }
}

/// xt[p·lanes + i] = x[i·ldx + p] for i < rows, 0 for rows ≤ i < lanes (8×8 register transposes).
@inline(__always)
func transposeRows(
  _ x: UnsafePointer<Float>, ldx: Int, rows: Int, columns: Int, into xt: UnsafeMutablePointer<Float>,
  lanes: Int
) {
  if rows < lanes {
    for p in 0..<columns { (xt + p * lanes + rows).update(repeating: 0, count: lanes - rows) }
  }
  transposeBlock(x, lds: ldx, xt, ldd: lanes, rows: rows, columns: columns)
}

@inline(__always) func sparseLoad16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
  UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}

@inline(__always) func sparseStore16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
  UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
}

/// Reusable 64-byte-aligned scratch blocks for the sparse kernels' transposed tiles, so a run does not
/// allocate (blocks over 128 KB would otherwise be fresh mmaps, page faults on every call).
final class SparseScratch: Sendable {
  static let shared = SparseScratch()

  private struct Block: @unchecked Sendable {
    let base: UnsafeMutablePointer<Float>
    let capacity: Int
  }

  private let free = Mutex<[Block]>([])

  func with<R>(floats count: Int, _ body: (UnsafeMutablePointer<Float>) -> R) -> R {
    let block =
      free.withLock { blocks -> Block? in
        guard let i = blocks.firstIndex(where: { $0.capacity >= count }) else { return nil }
        return blocks.remove(at: i)
      }
      ?? Block(
        base: UnsafeMutableRawPointer.allocate(byteCount: max(count, 16) * 4, alignment: 64).bindMemory(
          to: Float.self, capacity: max(count, 16)), capacity: max(count, 16))
    defer { free.withLock { $0.append(block) } }
    return body(block.base)
  }
}
