// Sparse 1×1 convolution: Y[n, m] = act(W[n, k] · X[k, m] + bias[n]) with X and Y channel-major (the
// [C, H·W] planes of one image), as XNNPACK runs sparse 1×1 convolutions (Elsen et al. 2020, "Fast
// sparse ConvNets"): the spatial dimension is already contiguous, so tiles of 32 positions are read in
// place — no transposes — and each non-zero weight is broadcast and FMA'd across them.

/// Y (row stride ldy) is overwritten. `w` must be `.csr` (n = output channels, k = input channels).
/// `relu`: max(·, 0) after the bias; `clip`: min/max bounds after that (ReLU6 → 0...6).
public func spmmChannelMajor(
  _ w: SparseMatrix, m: Int, x: UnsafePointer<Float>, ldx: Int, y: UnsafeMutablePointer<Float>, ldy: Int,
  bias: UnsafePointer<Float>? = nil, clip: ClosedRange<Float>? = nil, threads: Int = .max
) {
  precondition(w.layout == .csr, "spmmChannelMajor: needs the csr layout, found \(w.layout)")
  precondition(m >= 0 && ldx >= m && ldy >= m, "spmmChannelMajor: m=\(m) ldx=\(ldx) ldy=\(ldy)")
  if m == 0 || w.n == 0 { return }
  guard case .floats(let values) = w.values else {
    preconditionFailure("spmmChannelMajor: Float32 values only")
  }
  let tiles = (m + spmmTileRows - 1) / spmmTileRows
  let useThreads = m * max(w.storedCount, 1) < 1 << 16 ? 1 : min(threads, ThreadPool.shared.threadCount)
  let chunks = tiles >= useThreads ? 1 : max(1, min(useThreads, w.n / 16))
  let chunkSize = (w.n + chunks - 1) / chunks
  let (X, Y, B) = (SendableConstPointer(x), SendablePointer(y), bias.map { SendableConstPointer($0) })
  values.withUnsafeBufferPointer { vp in
    w.starts.withUnsafeBufferPointer { sp in
      w.indices.withUnsafeBufferPointer { ip in
        let operands = SparseOperands(
          matrix: w, values: FloatValues(base: vp.baseAddress ?? UnsafePointer(bitPattern: 16)!),
          starts: sp.baseAddress ?? UnsafePointer(bitPattern: 16)!,
          indices: ip.baseAddress ?? UnsafePointer(bitPattern: 16)!)
        ThreadPool.shared.parallelFor(tiles * chunks, threads: useThreads) { item in
          let (tile, chunk) = (item / chunks, item % chunks)
          let m0 = tile * spmmTileRows
          let outputs = (chunk * chunkSize)..<min(w.n, chunk * chunkSize + chunkSize)
          operands.channelMajorTile(
            x: X.base + m0, ldx: ldx, columns: min(spmmTileRows, m - m0), outputs: outputs, y: Y.base + m0,
            ldy: ldy, bias: B?.base, clip: clip)
        }
      }
    }
  }
}

/// The definition, for tests: y[j, i] = clip(relu?(Σ_p W[p, j]·x[p, i] + bias[j])).
public func spmmChannelMajorReference(
  _ w: SparseMatrix, m: Int, x: UnsafePointer<Float>, ldx: Int, y: UnsafeMutablePointer<Float>, ldy: Int,
  bias: UnsafePointer<Float>? = nil, clip: ClosedRange<Float>? = nil
) {
  for j in 0..<w.n { (y + j * ldy).update(repeating: bias?[j] ?? 0, count: m) }
  w.forEachEntry { p, j, value in
    for i in 0..<m { y[j * ldy + i] += value * x[p * ldx + i] }
  }
  if let clip {
    for j in 0..<w.n {
      for i in 0..<m { y[j * ldy + i] = min(max(y[j * ldy + i], clip.lowerBound), clip.upperBound) }
    }
  }
}

extension SparseOperands where V == FloatValues {
  /// Output rows `outputs`, spatial columns [0, columns) of this tile (≤ 32).
  func channelMajorTile(
    x: UnsafePointer<Float>, ldx: Int, columns: Int, outputs: Range<Int>, y: UnsafeMutablePointer<Float>,
    ldy: Int,
    bias: UnsafePointer<Float>?, clip: ClosedRange<Float>?
  ) {
    let lanes = spmmTileRows
    if columns == lanes {
      for panel in 0..<matrix.panelCount {
        csrPanel(
          starts: starts + panel * (matrix.n + 1), xt: x + panel * matrix.panelWidth * ldx, xStride: ldx,
          outputs: outputs, out: y + outputs.lowerBound * ldy, outStride: ldy, accumulate: panel > 0)
      }
      finish(
        y + outputs.lowerBound * ldy, ldy: ldy, outputs: outputs, columns: columns, bias: bias, clip: clip)
      return
    }
    // A partial tile: through zero-padded [k][32] and [outputs][32] copies.
    let k = matrix.k
    SparseScratch.shared.with(floats: k * lanes + outputs.count * lanes) { scratch in
      let xt = scratch
      let yt = scratch + k * lanes
      for p in 0..<k {
        (xt + p * lanes).update(from: x + p * ldx, count: columns)
        (xt + p * lanes + columns).update(repeating: 0, count: lanes - columns)
      }
      for panel in 0..<matrix.panelCount {
        csrPanel(
          starts: starts + panel * (matrix.n + 1), xt: xt + panel * matrix.panelWidth * lanes, xStride: lanes,
          outputs: outputs, out: yt, outStride: lanes, accumulate: panel > 0)
      }
      finish(yt, ldy: lanes, outputs: outputs, columns: columns, bias: bias, clip: clip)
      for (r, j) in outputs.enumerated() { (y + j * ldy).update(from: yt + r * lanes, count: columns) }
    }
  }

  /// rows[r, 0..<columns] = clip(rows + bias[outputs.lowerBound + r]).
  @inline(__always)
  private func finish(
    _ rows: UnsafeMutablePointer<Float>, ldy: Int, outputs: Range<Int>, columns: Int,
    bias: UnsafePointer<Float>?,
    clip: ClosedRange<Float>?
  ) {
    if bias == nil && clip == nil { return }
    let (low, high) = (clip?.lowerBound ?? -.infinity, clip?.upperBound ?? .infinity)
    for (r, j) in outputs.enumerated() {
      let row = rows + r * ldy
      let b = bias?[j] ?? 0
      for i in 0..<columns { row[i] = min(max(row[i] + b, low), high) }
    }
  }
}
