/// A linear layer's weight with most entries zero, in the layouts the sparse kernels read.
///
/// The product is always Y[m, n] = X[m, k] · op(B)[k, n] (+ epilogue), as for `gemm`: `n` is the
/// layer's output features, `k` its input features. Only the non-zero entries are stored.
///
/// | layout       | stored                                                   | kernel it feeds              |
/// |--------------|----------------------------------------------------------|------------------------------|
/// | `.csr`       | per output row, the non-zero (input column, value) pairs | `spmm` (vectorised over m)   |
/// | `.csc`       | per input column, the non-zero (output row, value) pairs | `spmm` for small m: skips    |
/// |              |                                                          | zero activations (EIE)       |
/// | `.blocked`   | per input column, its non-zero 16-output blocks, dense | small m: SIMD over outputs, |
/// |              |                                                          | zero activations skipped    |
/// | `.nm(n, m)`  | per group of m inputs, n values and their 2-bit offsets  | `spmm`, no row pointers      |
///
/// Values are Float32 or 8-bit codes into a centroid table (Deep Compression's weight sharing), so a
/// `.pkz` layer runs without being expanded to Float32.
public struct SparseMatrix: Sendable {
  public enum Layout: Sendable, Equatable, CustomStringConvertible {
    case csr
    case csc
    /// Per input, its non-zero blocks of 16 consecutive outputs stored densely (BSR with 1×16 blocks):
    /// one broadcast activation FMAs 16 outputs at a time; zero activations are skipped as in `.csc`.
    case blocked
    /// At most `keep` non-zeros in every group of `group` consecutive inputs (2:4 → keep 2, group 4).
    case nm(keep: Int, group: Int)

    public var description: String {
      switch self {
      case .csr: return "csr"
      case .csc: return "csc"
      case .blocked: return "blocked"
      case .nm(let keep, let group): return "\(keep):\(group)"
      }
    }
  }

  /// Float32 values, or `codes` into `table` (one byte each).
  public enum Values: Sendable {
    case floats([Float])
    case codebook(codes: [UInt8], table: [Float])

    public var count: Int {
      switch self {
      case .floats(let v): return v.count
      case .codebook(let codes, _): return codes.count
      }
    }
  }

  public let layout: Layout
  /// Output features (columns of op(B)).
  public let n: Int
  /// Input features (rows of op(B)).
  public let k: Int
  /// `.csr`: inputs per panel (the kernel keeps one panel of activations in L1); entries are stored
  /// panel by panel, and within a panel row by row. Other layouts: k.
  public let panelWidth: Int
  /// `.csr`: panels × (n + 1) offsets, panel p row r at `starts[p·(n+1) + r]`. `.csc`: k + 1 offsets.
  /// `.nm`: empty (every row holds k / group · keep entries).
  public let starts: [Int32]
  /// `.csr`: input column relative to its panel; `.csc`: output row; `.nm`: offset in the group.
  public let indices: [UInt16]
  public let values: Values
  /// `.csc`: Σ over inputs of each output's weights, [n] (so the kernel can skip an input's most common
  /// value b, not only 0: y = b·Σ_p W[p, :] + Σ over x[p] ≠ b of (x[p] − b)·W[p, :]). Other layouts: empty.
  public let outputSums: [Float]

  /// Inputs per `.csr` panel: 128 inputs × 32 rows of activations = 16 KB.
  public static let defaultPanelWidth = 128

  /// Stored non-zeros (padding entries of `.nm` included).
  public var storedCount: Int { values.count }

  /// Bytes held: values, indices, offsets and the centroid table.
  public var byteCount: Int {
    let valueBytes: Int
    switch values {
    case .floats(let v): valueBytes = v.count * 4
    case .codebook(let codes, let table): valueBytes = codes.count + table.count * 4
    }
    return valueBytes + indices.count * 2 + starts.count * 4 + outputSums.count * 4
  }

  init(
    layout: Layout, n: Int, k: Int, panelWidth: Int, starts: [Int32], indices: [UInt16], values: Values,
    outputSums: [Float] = []
  ) {
    self.layout = layout
    self.n = n
    self.k = k
    self.panelWidth = panelWidth
    self.starts = starts
    self.indices = indices
    self.values = values
    self.outputSums = outputSums
  }

  var panelCount: Int { layout == .csr ? max(1, (k + panelWidth - 1) / panelWidth) : 1 }
}

extension SparseMatrix {
  /// The non-zeros of op(B) [k, n] (B [k, n] with leading dimension `ldb`, or Bᵀ of B [n, k] when
  /// `transposed`, like `gemm`'s B) in `layout`. `codebook`, if given, maps every value to a code:
  /// `codes[i]` is the code of op(B)'s element with flat index `p·n + j`, and zero entries are skipped
  /// by value. Throws when the layout cannot hold the matrix (sizes past UInt16 indices, an N:M group
  /// with more than `keep` non-zeros).
  public static func make(
    b: UnsafePointer<Float>, ldb: Int, transposed: Bool, k: Int, n: Int, layout: Layout,
    panelWidth: Int = SparseMatrix.defaultPanelWidth, codebook: (codes: [UInt8], table: [Float])? = nil
  ) throws -> SparseMatrix {
    precondition(k >= 0 && n >= 0, "SparseMatrix.make: negative size k=\(k) n=\(n)")
    let view = MatrixView(base: b, ld: ldb, transposed: transposed)
    // op(B)(p, j): input p, output j.
    @inline(__always) func at(_ p: Int, _ j: Int) -> Float { view[p, j] }
    var indices: [UInt16] = []
    var floats: [Float] = []
    var codes: [UInt8] = []
    // N:M pads short groups with a zero weight: a codebook without a 0 centroid gets one appended.
    var table = codebook?.table ?? []
    if let codebook, case .nm = layout, !codebook.table.contains(0) {
      guard table.count < 256 else {
        throw TensorError.invalidArgument(
          operation: "sparse weights",
          message: "N:M padding needs a zero centroid; the codebook is full (256)")
      }
      table.append(0)
    }
    var starts: [Int32] = []
    func append(_ p: Int, _ j: Int, index: Int) {
      indices.append(UInt16(index))
      if let codebook { codes.append(codebook.codes[p * n + j]) } else { floats.append(at(p, j)) }
    }
    func checkCount() throws {
      guard indices.count < Int(Int32.max) else {
        throw TensorError.invalidArgument(operation: "sparse weights", message: "more than 2³¹ non-zeros")
      }
    }
    switch layout {
    case .csr:
      guard panelWidth > 0, panelWidth <= 1 << 16 else {
        throw TensorError.invalidArgument(
          operation: "sparse weights", message: "panel width \(panelWidth) outside 1...65536")
      }
      let panels = max(1, (k + panelWidth - 1) / panelWidth)
      for panel in 0..<panels {
        let p0 = panel * panelWidth
        let p1 = min(k, p0 + panelWidth)
        for j in 0..<n {
          starts.append(Int32(indices.count))
          for p in p0..<p1 where at(p, j) != 0 { append(p, j, index: p - p0) }
          try checkCount()
        }
      }
      starts.append(Int32(indices.count))
      // Panel p's row r starts at starts[p·(n+1) + r]: insert each panel's end offset.
      var full: [Int32] = []
      full.reserveCapacity(panels * (n + 1))
      for panel in 0..<panels {
        full.append(contentsOf: starts[(panel * n)..<(panel * n + n)])
        full.append(starts[panel * n + n])
      }
      starts = full
    case .csc:
      guard n <= 1 << 16 else {
        throw TensorError.invalidArgument(
          operation: "sparse weights", message: "csc layout holds at most 65536 outputs, found \(n)")
      }
      for p in 0..<k {
        starts.append(Int32(indices.count))
        for j in 0..<n where at(p, j) != 0 { append(p, j, index: j) }
        try checkCount()
      }
      starts.append(Int32(indices.count))
    case .blocked:
      guard codebook == nil else {
        throw TensorError.invalidArgument(
          operation: "sparse weights", message: "the blocked layout holds Float32 values, not codebook codes")
      }
      let blocks = (n + 15) / 16
      guard blocks <= 1 << 16 else {
        throw TensorError.invalidArgument(
          operation: "sparse weights", message: "blocked layout holds at most 2²⁰ outputs, found \(n)")
      }
      for p in 0..<k {
        starts.append(Int32(indices.count))
        for block in 0..<blocks {
          let j0 = block * 16
          let j1 = min(n, j0 + 16)
          guard (j0..<j1).contains(where: { at(p, $0) != 0 }) else { continue }
          indices.append(UInt16(block))
          for j in j0..<(j0 + 16) { floats.append(j < j1 ? at(p, j) : 0) }
        }
        try checkCount()
      }
      starts.append(Int32(indices.count))
    case .nm(let keep, let group):
      guard keep >= 1, group >= keep, group <= 256, k % group == 0 else {
        throw TensorError.invalidArgument(
          operation: "sparse weights",
          message: "\(keep):\(group) needs 1 ≤ keep ≤ group ≤ 256 and inputs (\(k)) divisible by \(group)")
      }
      for j in 0..<n {
        for g in 0..<(k / group) {
          var kept = 0
          for o in 0..<group where at(g * group + o, j) != 0 {
            guard kept < keep else {
              throw TensorError.invalidArgument(
                operation: "sparse weights",
                message:
                  "output \(j), inputs \(g * group)..<\(g * group + group): more than \(keep) non-zeros")
            }
            append(g * group + o, j, index: o)
            kept += 1
          }
          for _ in kept..<keep {  // padding: a zero weight at offset 0
            indices.append(0)
            if codebook != nil { codes.append(UInt8(table.firstIndex(of: 0)!)) } else { floats.append(0) }
          }
        }
        try checkCount()
      }
    }
    let values: Values =
      codebook != nil ? .codebook(codes: codes, table: table) : .floats(floats)
    var matrix = SparseMatrix(
      layout: layout, n: n, k: k, panelWidth: layout == .csr ? panelWidth : max(k, 1), starts: starts,
      indices: indices, values: values)
    try matrix.validate(name: "sparse weights")
    if layout == .csc || layout == .blocked {
      var sums = [Double](repeating: 0, count: n)
      matrix.forEachEntry { _, j, w in sums[j] += Double(w) }
      matrix = SparseMatrix(
        layout: layout, n: n, k: k, panelWidth: matrix.panelWidth, starts: starts, indices: indices,
        values: values,
        outputSums: sums.map { Float($0) })
    }
    return matrix
  }

  /// Fraction of op(B)'s entries that are zero.
  public var sparsity: Double {
    let total = Double(n) * Double(k)
    guard total > 0 else { return 0 }
    var nonZero = storedCount
    if layout != .csr && layout != .csc {  // padding entries hold zeros
      switch values {
      case .floats(let v): nonZero = v.reduce(0) { $0 + ($1 != 0 ? 1 : 0) }
      case .codebook(let codes, let table): nonZero = codes.reduce(0) { $0 + (table[Int($1)] != 0 ? 1 : 0) }
      }
    }
    return 1 - Double(nonZero) / total
  }

  /// Checks every offset, index and code against the sizes, so that no kernel can read out of
  /// bounds: offsets non-decreasing from 0 to the entry count, indices inside their row/panel/group,
  /// codes inside the table. `name` (the layer) goes into the error.
  public func validate(name: String) throws {
    func fail(_ message: String) -> TensorError {
      TensorError.invalidArgument(operation: "sparse weights of '\(name)'", message: message)
    }
    let valuesPerIndex = layout == .blocked ? 16 : 1
    guard values.count == indices.count * valuesPerIndex else {
      throw fail("\(values.count) values for \(indices.count) indices, expected \(valuesPerIndex) each")
    }
    if case .codebook(let codes, let table) = values {
      guard !table.isEmpty, table.count <= 256 else { throw fail("codebook of \(table.count) entries") }
      if let bad = codes.first(where: { Int($0) >= table.count }) {
        throw fail("code \(bad) past the \(table.count)-entry codebook")
      }
    }
    func checkStarts(_ range: Range<Int>, limit: Int) throws {
      var previous = Int32(0)
      for i in range {
        let s = starts[i]
        guard s >= previous, Int(s) <= limit else {
          throw fail("offset \(s) at \(i) is out of order or past \(limit) entries")
        }
        previous = s
      }
    }
    switch layout {
    case .csr:
      let panels = panelCount
      guard panelWidth > 0, starts.count == panels * (n + 1) else {
        throw fail("\(starts.count) row offsets, expected \(panels) panels × \(n + 1)")
      }
      try checkStarts(0..<starts.count, limit: indices.count)
      guard starts.first ?? 0 == 0, Int(starts.last ?? 0) == indices.count else {
        throw fail(
          "row offsets cover \(starts.first ?? 0)..<\(starts.last ?? 0), expected 0..<\(indices.count)")
      }
      for panel in 0..<panels {
        let width = min(panelWidth, k - panel * panelWidth)
        let base = panel * (n + 1)
        if panel > 0, starts[base] != starts[base - 1] {
          throw fail("panel \(panel) does not follow panel \(panel - 1)")
        }
        for e in Int(starts[base])..<Int(starts[base + n]) where Int(indices[e]) >= width {
          throw fail("column \(indices[e]) past panel \(panel)'s \(width) inputs")
        }
      }
    case .csc:
      guard starts.count == k + 1 else { throw fail("\(starts.count) column offsets, expected \(k + 1)") }
      try checkStarts(0..<starts.count, limit: indices.count)
      guard starts.first ?? 0 == 0, Int(starts.last ?? 0) == indices.count else {
        throw fail("column offsets do not cover the \(indices.count) entries")
      }
      if let bad = indices.first(where: { Int($0) >= n }) { throw fail("output \(bad) past \(n) outputs") }
    case .blocked:
      guard starts.count == k + 1 else { throw fail("\(starts.count) column offsets, expected \(k + 1)") }
      try checkStarts(0..<starts.count, limit: indices.count)
      guard starts.first ?? 0 == 0, Int(starts.last ?? 0) == indices.count else {
        throw fail("column offsets do not cover the \(indices.count) blocks")
      }
      let blocks = (n + 15) / 16
      if let bad = indices.first(where: { Int($0) >= blocks }) {
        throw fail("block \(bad) past \(blocks) blocks")
      }
      if case .codebook = values { throw fail("blocked layout with codebook values") }
    case .nm(let keep, let group):
      guard group > 0, k % group == 0, indices.count == n * (k / group) * keep else {
        throw fail("\(indices.count) entries, expected \(n) × \(k / max(group, 1)) groups × \(keep)")
      }
      if let bad = indices.first(where: { Int($0) >= group }) {
        throw fail("offset \(bad) past group of \(group)")
      }
    }
  }

  /// op(B) [k, n] as dense row-major Float32 (tests, and the reference kernel's definition).
  public func dense() -> [Float] {
    var out = [Float](repeating: 0, count: k * n)
    forEachEntry { p, j, w in out[p * n + j] += w }
    return out
  }

  /// Calls `body(input, output, value)` for every stored entry.
  func forEachEntry(_ body: (Int, Int, Float) -> Void) {
    func value(_ e: Int) -> Float {
      switch values {
      case .floats(let v): return v[e]
      case .codebook(let codes, let table): return table[Int(codes[e])]
      }
    }
    switch layout {
    case .csr:
      for panel in 0..<panelCount {
        for j in 0..<n {
          let base = panel * (n + 1) + j
          for e in Int(starts[base])..<Int(starts[base + 1]) {
            body(panel * panelWidth + Int(indices[e]), j, value(e))
          }
        }
      }
    case .csc:
      for p in 0..<k {
        for e in Int(starts[p])..<Int(starts[p + 1]) { body(p, Int(indices[e]), value(e)) }
      }
    case .blocked:
      for p in 0..<k {
        for e in Int(starts[p])..<Int(starts[p + 1]) {
          let j0 = Int(indices[e]) * 16
          for l in 0..<min(16, n - j0) { body(p, j0 + l, value(e * 16 + l)) }
        }
      }
    case .nm(let keep, let group):
      let groups = k / group
      for j in 0..<n {
        for g in 0..<groups {
          for t in 0..<keep {
            let e = (j * groups + g) * keep + t
            body(g * group + Int(indices[e]), j, value(e))
          }
        }
      }
    }
  }
}
