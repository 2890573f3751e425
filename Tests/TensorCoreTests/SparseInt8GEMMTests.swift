import Testing

@testable import TensorCore

/// A sparse int8 case: `Int8Case`'s shape with a fraction of the weights zeroed (seeded), optionally
/// whole empty columns and rows of op(B).
struct SparseInt8Case: CustomStringConvertible, Sendable {
  let shape: Int8Case
  let sparsity: Double
  /// Zero every 5th column and every 3rd k as well.
  let emptyLines: Bool
  var description: String { "\(shape) sparsity=\(sparsity) emptyLines=\(emptyLines)" }

  func weights() -> [Int8] {
    var rng = SeededGenerator(seed: 21)
    var w = shape.weights()
    for p in 0..<shape.k {
      for j in 0..<shape.n {
        let drop = Double(rng.next() % 10_000) / 10_000 < sparsity
        if drop || (emptyLines && (j % 5 == 0 || p % 3 == 0)) { w[p * shape.n + j] = 0 }
      }
    }
    return w
  }
}

/// spmmInt8 (fast kernel when the CPU has it) and the scalar walk of the format, beside
/// `gemmInt8Reference` on the same dense weight and quantized rows.
func sparseInt8Products(_ c: SparseInt8Case, threads: Int, epilogue: Bool) -> (
  fast: [Float], walk: [Float], reference: [Float], matrix: SparseInt8Matrix
) {
  let s = c.shape
  let w = c.weights()
  let b = stored(w, s)
  let scales = s.scales
  let matrix = b.withUnsafeBufferPointer {
    SparseInt8Matrix(
      b: $0.baseAddress!, ldb: s.transposed ? s.k : s.n, transposed: s.transposed, k: s.k, n: s.n, scales: scales)
  }
  let ldq = matrix.paddedK + 5  // odd leading dimension on purpose
  let (q, rowScales, rowZeros) = s.quantizedRows(ldq: ldq)
  let (bias, residual) = (s.bias, s.residual)
  var fast = [Float](repeating: .nan, count: s.m * s.n)
  var walk = fast
  var reference = fast
  bias.withUnsafeBufferPointer { bp in
    residual.withUnsafeBufferPointer { rp in
      let ep =
        epilogue
        ? GEMMEpilogue(bias: bp.baseAddress, activation: .gelu, residual: rp.baseAddress, residualLD: s.n) : .none
      spmmInt8(
        m: s.m, a: q, lda: ldq, rowScales: rowScales, rowZeros: rowZeros, b: matrix, c: &fast, ldc: s.n,
        threads: threads, epilogue: ep)
      spmmInt8Reference(
        matrix, m: s.m, a: q, lda: ldq, rowScales: rowScales, rowZeros: rowZeros, c: &walk, ldc: s.n)
      w.withUnsafeBufferPointer { wp in
        gemmInt8Reference(
          m: s.m, n: s.n, k: s.k, a: q, lda: ldq, rowScales: rowScales, rowZeros: rowZeros, b: wp.baseAddress!,
          ldb: s.n, columnScales: scales, c: &reference, ldc: s.n)
      }
      walk.withUnsafeMutableBufferPointer { ep.applyReference(m: s.m, n: s.n, c: $0.baseAddress!, ldc: s.n) }
      reference.withUnsafeMutableBufferPointer {
        ep.applyReference(m: s.m, n: s.n, c: $0.baseAddress!, ldc: s.n)
      }
    }
  }
  return (fast, walk, reference, matrix)
}

@Suite struct SparseInt8GEMMTests {
  static let cases: [SparseInt8Case] =
    [
      (Int8Case(m: 1, k: 1, n: 1, transposed: false), 0.0, false),
      (Int8Case(m: 3, k: 5, n: 7, transposed: false), 0.7, false),
      (Int8Case(m: 9, k: 33, n: 17, transposed: true), 0.5, true),
      (Int8Case(m: 17, k: 64, n: 33, transposed: false), 0.0, false),
      (Int8Case(m: 70, k: 131, n: 65, transposed: true), 0.7, false),
      (Int8Case(m: 100, k: 384, n: 96, transposed: false), 0.7, true),
      (Int8Case(m: 8, k: 1538, n: 32, transposed: true), 0.9, false),
      (Int8Case(m: 13, k: 200, n: 40, transposed: false), 1.0, false),
    ].map { SparseInt8Case(shape: $0.0, sparsity: $0.1, emptyLines: $0.2) }

  /// The scalar walk of the packed groups equals the dense reference exactly (same int32 sums, same
  /// dequantization), and the kernel equals it to rounding of the epilogue, on 1 and 2 threads.
  @Test(arguments: cases)
  func sparseKernelEqualsDenseReference(_ c: SparseInt8Case) throws {
    for threads in [1, 2] {
      for epilogue in [false, true] {
        let (fast, walk, reference, _) = sparseInt8Products(c, threads: threads, epilogue: epilogue)
        let tolerance: Float = epilogue ? 1e-5 : int8Tolerance
        if !epilogue { #expect(walk == reference, "\(c): walk of the groups") }
        for i in 0..<fast.count {
          #expect(
            abs(fast[i] - reference[i]) <= tolerance * (1 + abs(reference[i])), "\(c) threads \(threads) element \(i)")
        }
      }
    }
  }

  /// Every non-zero is stored once, windows stay inside the padded row, a group holds ≤ 4 weights per
  /// column, and the tile's group count is at least its densest column's ⌈nnz/4⌉.
  @Test(arguments: cases)
  func packingKeepsEveryNonZeroOnce(_ c: SparseInt8Case) throws {
    let (_, _, _, matrix) = sparseInt8Products(c, threads: 1, epilogue: false)
    let w = c.weights()
    #expect(matrix.nonZeros == w.filter { $0 != 0 }.count)
    var seen = [Int8](repeating: 0, count: w.count)
    for t in 0..<(matrix.tileStart.count - 1) {
      var perColumn = [Int](repeating: 0, count: 16)
      for g in Int(matrix.tileStart[t])..<Int(matrix.tileStart[t + 1]) {
        let base = Int(matrix.bases[g])
        #expect(base >= 0 && base + 64 <= matrix.paddedK)  // a window is 64 bytes (vpermb)
        for lane in 0..<64 where matrix.payload[128 * g + 64 + lane] != 0 {
          let (j, p) = (t * 16 + lane / 4, base + Int(matrix.payload[128 * g + lane]))
          #expect(j < c.shape.n && p < c.shape.k)
          #expect(seen[p * c.shape.n + j] == 0, "weight (\(p), \(j)) stored twice")
          seen[p * c.shape.n + j] = matrix.payload[128 * g + 64 + lane]
          perColumn[lane / 4] += 1
        }
      }
      let groups = Int(matrix.tileStart[t + 1] - matrix.tileStart[t])
      #expect(groups >= (perColumn.max()! + 3) / 4)
    }
    #expect(seen == w)
  }

  /// At 70 % independent zeros the groups hold most of the work: padding stays below 40 %.
  @Test func packingPaddingIsBoundedAtSeventyPercent() throws {
    let c = SparseInt8Case(shape: Int8Case(m: 1, k: 384, n: 128, transposed: false), sparsity: 0.7, emptyLines: false)
    let (_, _, _, matrix) = sparseInt8Products(c, threads: 1, epilogue: false)
    let slots = matrix.groupCount * 64
    #expect(Double(matrix.nonZeros) / Double(slots) > 0.6, "\(matrix.nonZeros) non-zeros in \(slots) slots")
  }
}
