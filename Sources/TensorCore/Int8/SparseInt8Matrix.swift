import TensorCoreAVX512

/// A constant s8 weight op(B) [k, n] with many zeros (e.g. 70 % unstructured pruning), stored for the
/// sparse int8 kernel (`int8SparseKernelVNNI8x16`): columns in tiles of 16, and each tile's non-zeros
/// as *groups*. A group is a window of 64 consecutive k (starting at `bases[g]`) and, for each of
/// the 16 columns, up to 4 of that column's next non-zeros inside the window — their offsets in the
/// window (64 index bytes, lane j = column j) and their values (64 s8 weights; empty slots 0):
///
///     tile t → groups tileStart[t] ..< tileStart[t + 1]
///     group g → bases[g], payload[128·g ..< 128·g + 64] (indices), payload[128·g + 64 ..< 128·(g + 1)] (weights)
///
/// Why this layout: `vpdpbusd` sums 4 u8·s8 products per int32 lane; with independent 70 % zeros 76 %
/// of the dense layout's 4-k groups still hold a non-zero, so skipping empty groups saves little. Here
/// each column gets its own 4 k per lane (gathered from the activation row by one `vpermb`), so the
/// kernel does ⌈nnz/4⌉ dot-product steps per column plus the padding of the slowest column in the tile.
/// Windows are packed greedily: each starts at the smallest k still pending in the tile.
public struct SparseInt8Matrix: Sendable {
  public let k: Int
  public let n: Int
  public let scales: [Float]
  public let columnSums: [Int32]
  /// Bytes an activation row must have (≥ k, ≥ 64): windows read 64 bytes from their base.
  public let paddedK: Int
  /// Non-zero weights.
  public let nonZeros: Int
  let tileStart: [Int32]
  let bases: [Int32]
  let payload: [Int8]

  /// b: s8 elements, op(B)[p, j] = b[p·ldb + j], or b[j·ldb + p] when `transposed` (B stored [n, k]).
  public init(
    b: UnsafePointer<Int8>, ldb: Int, transposed: Bool, k: Int, n: Int, scales: [Float]
  ) {
    precondition(scales.count == n, "SparseInt8Matrix: \(scales.count) scales for \(n) columns")
    (self.k, self.n, self.scales) = (k, n, scales)
    let window = sparseInt8Window
    let tileWidth = sparseInt8KernelColumns
    paddedK = Swift.max(window, (k + 3) / 4 * 4)
    func at(_ p: Int, _ j: Int) -> Int8 { transposed ? b[j * ldb + p] : b[p * ldb + j] }
    var sums = [Int32](repeating: 0, count: n)
    var starts: [Int32] = [0]
    var bases: [Int32] = []
    var payload: [Int8] = []
    var nonZeros = 0
    for j0 in stride(from: 0, to: n, by: tileWidth) {
      // The tile's non-zeros, per column in k order.
      let columns = (j0..<Swift.min(j0 + tileWidth, n)).map { j -> [(p: Int, w: Int8)] in
        (0..<k).compactMap { p in at(p, j) == 0 ? nil : (p, at(p, j)) }
      }
      for (c, column) in columns.enumerated() {
        sums[j0 + c] = column.reduce(0) { $0 + Int32($1.w) }
        nonZeros += column.count
      }
      var next = [Int](repeating: 0, count: columns.count)
      while let lowest = zip(columns, next).compactMap({ $1 < $0.count ? $0[$1].p : nil }).min() {
        let base = Swift.min(lowest, paddedK - window)
        var group = [Int8](repeating: 0, count: 128)
        for (c, column) in columns.enumerated() {
          var t = 0
          while t < 4, next[c] < column.count, column[next[c]].p < base + window {
            group[4 * c + t] = Int8(column[next[c]].p - base)
            group[64 + 4 * c + t] = column[next[c]].w
            (t, next[c]) = (t + 1, next[c] + 1)
          }
        }
        bases.append(Int32(base))
        payload += group
      }
      starts.append(Int32(bases.count))
    }
    (columnSums, tileStart, self.bases, self.payload, self.nonZeros) = (sums, starts, bases, payload, nonZeros)
  }

  /// Dot-product steps per column tile (groups), summed over tiles.
  public var groupCount: Int { bases.count }

  /// Bytes the packed weight, window starts, tile offsets, scales and column sums occupy.
  public var byteCount: Int {
    payload.count + bases.count * 4 + tileStart.count * 4 + scales.count * 4 + columnSums.count * 4
  }

  /// Whether this CPU runs the vector kernel (else `spmmInt8` runs the scalar walk of the format).
  public static var hasFastKernel: Bool { CPUFeatures.hasAVX512VBMI && CPUFeatures.int8Kernel == .avx512 }
}
