import Testing

@testable import TensorCore

/// The fast int8 kernels compute the same exact int32 sums as the reference and dequantize with the
/// same Float32 expression, so they agree to rounding of the epilogue only.
let int8Tolerance: Float = 1e-6

struct Int8Case: CustomStringConvertible, Sendable {
  let m: Int, k: Int, n: Int
  let transposed: Bool
  var description: String { "m=\(m) k=\(k) n=\(n) transposed=\(transposed)" }

  /// Seeded s8 weights in [−127, 127] with the extremes present; op(B)[p, j] at p·n + j.
  func weights(seed: UInt64 = 3) -> [Int8] {
    var rng = SeededGenerator(seed: seed)
    var w = (0..<(k * n)).map { _ in Int8(Int(rng.next() % 255) - 127) }
    if !w.isEmpty { w[0] = 127; w[w.count - 1] = -127 }
    return w
  }

  func activations(seed: UInt64 = 5) -> [Float] {
    var rng = SeededGenerator(seed: seed)
    return (0..<(m * k)).map { i in i % 17 == 0 ? 0 : rng.nextNormal() * 2 }
  }

  /// The activations quantized per row into rows of `ldq` bytes, with their scales and zero points.
  func quantizedRows(ldq: Int) -> (q: [UInt8], scales: [Float], zeros: [Int32]) {
    var q = [UInt8](repeating: 0, count: max(m * ldq, 1))
    var rowScales = [Float](repeating: 0, count: m)
    var rowZeros = [Int32](repeating: 0, count: m)
    quantizeRowsSymmetric(
      x: activations(), m: m, k: k, ldx: k, q: &q, ldq: ldq, scales: &rowScales, zeros: &rowZeros)
    return (q, rowScales, rowZeros)
  }

  /// Per-column weight scales, a bias and a residual for the epilogue tests.
  var scales: [Float] { (0..<n).map { Float($0 % 7 + 1) * 0.01 } }
  var bias: [Float] { (0..<n).map { Float($0) * 0.1 - 1 } }
  var residual: [Float] { (0..<(m * n)).map { Float($0 % 11) * 0.5 } }
}

/// B as the kernel is given it: [k][n], or [n][k] when transposed.
func stored(_ w: [Int8], _ c: Int8Case) -> [Int8] {
  guard c.transposed else { return w }
  var t = [Int8](repeating: 0, count: w.count)
  for p in 0..<c.k { for j in 0..<c.n { t[j * c.k + p] = w[p * c.n + j] } }
  return t
}

/// gemmInt8 through `kernel` on row-quantized activations, with the reference's result beside it.
func int8Products(_ c: Int8Case, kernel: KernelKind, threads: Int, epilogue: Bool = false) -> (
  fast: [Float], reference: [Float]
) {
  let w = c.weights()
  let b = stored(w, c)
  let scales = c.scales
  let packed = b.withUnsafeBufferPointer {
    PackedInt8Matrix(
      b: $0.baseAddress!, ldb: c.transposed ? c.k : c.n, transposed: c.transposed, k: c.k, n: c.n,
      scales: scales,
      kernel: kernel)
  }
  let ldq = packed.paddedK + 3  // odd leading dimension on purpose
  let (q, rowScales, rowZeros) = c.quantizedRows(ldq: ldq)
  let (bias, residual) = (c.bias, c.residual)
  var fast = [Float](repeating: .nan, count: c.m * c.n)
  var reference = [Float](repeating: .nan, count: c.m * c.n)
  bias.withUnsafeBufferPointer { bp in
    residual.withUnsafeBufferPointer { rp in
      let ep =
        epilogue
        ? GEMMEpilogue(bias: bp.baseAddress, activation: .gelu, residual: rp.baseAddress, residualLD: c.n)
        : .none
      gemmInt8(
        m: c.m, a: q, lda: ldq, rowScales: rowScales, rowZeros: rowZeros, b: packed, c: &fast, ldc: c.n,
        threads: threads, epilogue: ep)
      w.withUnsafeBufferPointer { wp in
        gemmInt8Reference(
          m: c.m, n: c.n, k: c.k, a: q, lda: ldq, rowScales: rowScales, rowZeros: rowZeros,
          b: wp.baseAddress!,
          ldb: c.n, columnScales: scales, c: &reference, ldc: c.n)
      }
      reference.withUnsafeMutableBufferPointer {
        ep.applyReference(m: c.m, n: c.n, c: $0.baseAddress!, ldc: c.n)
      }
    }
  }
  return (fast, reference)
}

@Suite struct Int8GEMMTests {
  static let cases: [Int8Case] = [
    Int8Case(m: 1, k: 1, n: 1, transposed: false), Int8Case(m: 3, k: 5, n: 7, transposed: false),
    Int8Case(m: 9, k: 33, n: 17, transposed: true), Int8Case(m: 17, k: 64, n: 33, transposed: false),
    Int8Case(m: 70, k: 131, n: 65, transposed: true), Int8Case(m: 100, k: 384, n: 96, transposed: false),
    Int8Case(m: 8, k: 1538, n: 32, transposed: true),
  ]

  @Test(arguments: cases, [KernelKind.avx512, .avx2])
  func fastKernelsEqualReference(_ c: Int8Case, _ kernel: KernelKind) throws {
    for threads in [1, 2] {
      let (fast, reference) = int8Products(c, kernel: kernel, threads: threads)
      for i in 0..<fast.count {
        #expect(abs(fast[i] - reference[i]) <= int8Tolerance * (1 + abs(reference[i])), "\(c) element \(i)")
      }
    }
  }

  @Test(arguments: cases.suffix(4), [KernelKind.avx512, .avx2, .reference])
  func epilogueMatchesReference(_ c: Int8Case, _ kernel: KernelKind) throws {
    let (fast, reference) = int8Products(c, kernel: kernel, threads: 2, epilogue: true)
    for i in 0..<fast.count {
      #expect(abs(fast[i] - reference[i]) <= 1e-5 * (1 + abs(reference[i])), "\(c) element \(i)")
    }
  }

  /// Row quantization then the int8 product is within the quantization error of the Float32 product:
  /// |error| ≤ ½·s_row·Σ|w| + ½·s_w·Σ|x| for each element (rounding of both operands).
  @Test func int8ProductApproximatesFloat() throws {
    let c = Int8Case(m: 12, k: 200, n: 40, transposed: false)
    let (fast, _) = int8Products(c, kernel: CPUFeatures.int8Kernel, threads: 1)
    let w = c.weights().map { Float($0) }
    let scales = (0..<c.n).map { Float($0 % 7 + 1) * 0.01 }
    let x = c.activations()
    for i in 0..<c.m {
      let row = x[(i * c.k)..<((i + 1) * c.k)]
      let s = max(row.map(abs).max()! / 127, rowScaleFloor)
      for j in 0..<c.n {
        var exact: Float = 0
        var bound: Float = 0
        for p in 0..<c.k {
          exact += x[i * c.k + p] * w[p * c.n + j] * scales[j]
          bound += 0.5 * s * abs(w[p * c.n + j] * scales[j])
        }
        #expect(abs(fast[i * c.n + j] - exact) <= bound * 1.001 + 1e-5, "row \(i) column \(j)")
      }
    }
  }

  @Test func rowQuantizationMatchesScalarDefinition() throws {
    let k = 37
    var rng = SeededGenerator(seed: 11)
    var x = (0..<(3 * k)).map { _ in rng.nextNormal() }
    for p in 0..<k { x[k + p] = 0 }  // an all-zero row
    x[5] = .nan
    var q = [UInt8](repeating: 0, count: 3 * 40)
    var scales = [Float](repeating: 0, count: 3)
    var zeros = [Int32](repeating: 0, count: 3)
    quantizeRowsSymmetric(x: x, m: 3, k: k, ldx: k, q: &q, ldq: 40, scales: &scales, zeros: &zeros)
    #expect(zeros == [128, 128, 128])
    #expect(scales[1] == rowScaleFloor)
    for i in 0..<3 {
      for p in 0..<k {
        #expect(
          Int32(q[i * 40 + p]) - 128 == quantizeSymmetric(x[i * k + p], scale: scales[i]), "row \(i) p \(p)")
      }
      for p in k..<40 { #expect(q[i * 40 + p] == 128) }
    }
    // The largest magnitude maps to ±127.
    let row2 = x[(2 * k)...].map(abs)
    let top = row2.firstIndex(of: row2.max()!)!
    #expect(abs(Int32(q[2 * 40 + top]) - 128) == 127)
  }
}
