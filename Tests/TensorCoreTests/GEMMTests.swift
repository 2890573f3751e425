import Testing

@testable import TensorCore

/// |fast − reference| ≤ gemmTolerancePerK · k · (|alpha| + |beta|) for inputs in [-1, 1]: the two
/// sums differ only in rounding order, whose error grows at most linearly with k (≈ ε·Σ|a·b|).
let gemmTolerancePerK: Float = 1e-6

/// One GEMM problem: op(A) [m, k], op(B) [k, n], C [m, n], with padded leading dimensions.
struct GEMMCase: CustomStringConvertible, Sendable {
  let m: Int, n: Int, k: Int
  let transA: Bool, transB: Bool
  let alpha: Float, beta: Float
  let pad: Int

  var description: String { "m=\(m) n=\(n) k=\(k) tA=\(transA) tB=\(transB) α=\(alpha) β=\(beta)" }
  var lda: Int { (transA ? m : k) + pad }
  var ldb: Int { (transB ? k : n) + pad }
  var ldc: Int { n + pad }
  var aCount: Int { (transA ? k : m) * lda }
  var bCount: Int { (transB ? n : k) * ldb }
  var cCount: Int { m * ldc }
}

/// Runs fast `gemm` (given kernel, threads) and `gemmReference` on the same seeded data; returns the
/// largest |difference| over C (padding included, which must stay untouched) and the tolerance.
func compareWithReference(
  _ g: GEMMCase, kernel: KernelKind, threads: Int, seed: UInt64, integers: Bool = false
) -> (error: Float, tolerance: Float, nanInOutput: Bool) {
  var rng = SeededGenerator(seed: seed)
  func draw() -> Float {
    integers ? Float(Int(rng.next() % 7)) - 3 : rng.nextUniform() * 2 - 1
  }
  let a = (0..<g.aCount).map { _ in draw() }
  let b = (0..<g.bCount).map { _ in draw() }
  // beta == 0 must not read C: NaNs there must not reach the output.
  let c0 = (0..<g.cCount).map { i in g.beta == 0 && i % g.ldc < g.n ? Float.nan : draw() }
  var fast = c0
  var reference = c0
  fast.withUnsafeMutableBufferPointer { c in
    gemm(
      transA: g.transA, transB: g.transB, m: g.m, n: g.n, k: g.k, alpha: g.alpha, a: a, lda: g.lda,
      b: b, ldb: g.ldb, beta: g.beta, c: c.baseAddress!, ldc: g.ldc, threads: threads, kernel: kernel)
  }
  reference.withUnsafeMutableBufferPointer { c in
    gemmReference(
      transA: g.transA, transB: g.transB, m: g.m, n: g.n, k: g.k, alpha: g.alpha, a: a, lda: g.lda,
      b: b, ldb: g.ldb, beta: g.beta, c: c.baseAddress!, ldc: g.ldc)
  }
  var worst: Float = 0
  var nan = false
  for i in 0..<g.cCount {
    if fast[i].isNaN && !reference[i].isNaN { nan = true }
    if !reference[i].isNaN { worst = max(worst, abs(fast[i] - reference[i])) }
  }
  let tolerance = gemmTolerancePerK * Float(max(g.k, 1)) * (abs(g.alpha) + abs(g.beta)) + 1e-6
  return (worst, tolerance, nan)
}

/// Shapes around every blocking edge: m = 1 / n = 1 / k = 1 (GEMV paths), sizes that are not
/// multiples of the 8×32 and 6×16 tiles, k across KC = 512 / 256, m across MC = 96, n across NC = 2048.
let gemmShapes: [(Int, Int, Int)] = [
  (1, 1, 1), (1, 300, 784), (1, 77, 33), (37, 1, 65), (1, 1, 100), (2, 2, 1), (7, 5, 3),
  (8, 32, 16), (9, 33, 17), (13, 47, 29), (6, 16, 256), (31, 65, 513), (97, 50, 40),
  (130, 70, 300), (3, 2100, 7), (64, 64, 64),
]

@Suite struct GEMMTests {
  @Test(arguments: [KernelKind.avx512, .avx2], [1, 2])
  func fastMatchesReferenceOnAllShapesAndTransposes(kernel: KernelKind, threads: Int) {
    var seed: UInt64 = 1
    for (m, n, k) in gemmShapes {
      for transA in [false, true] {
        for transB in [false, true] {
          seed += 1
          let alpha: Float = seed % 3 == 0 ? 1 : 0.75
          let beta: Float = [0, 1, -0.5][Int(seed % 3)]
          let g = GEMMCase(
            m: m, n: n, k: k, transA: transA, transB: transB, alpha: alpha, beta: beta,
            pad: Int(seed % 3))
          let r = compareWithReference(g, kernel: kernel, threads: threads, seed: seed)
          #expect(r.error <= r.tolerance, "\(g) kernel=\(kernel) threads=\(threads)")
          #expect(!r.nanInOutput, "beta = 0 read C: \(g)")
        }
      }
    }
  }

  /// Small integers make every sum exact, so any misplaced index shows as an exact mismatch.
  @Test(arguments: [KernelKind.avx512, .avx2])
  func integerInputsGiveExactlyTheReference(kernel: KernelKind) {
    for (seed, (m, n, k)) in [(11, 19, 23), (40, 70, 600), (1, 45, 20), (50, 1, 20)].enumerated() {
      for (transA, transB) in [(false, false), (true, false), (false, true), (true, true)] {
        let g = GEMMCase(m: m, n: n, k: k, transA: transA, transB: transB, alpha: 1, beta: 1, pad: 1)
        let r = compareWithReference(
          g, kernel: kernel, threads: 2, seed: UInt64(100 + seed), integers: true)
        #expect(r.error == 0, "\(g) kernel=\(kernel)")
      }
    }
  }

  /// A product large enough to take the parallel path with both thread counts, in both split directions.
  @Test(arguments: [(200, 300, 150), (600, 40, 100), (1, 4000, 100), (3000, 1, 100)])
  func largeProductsSplitAcrossThreads(shape: (Int, Int, Int)) {
    let g = GEMMCase(
      m: shape.0, n: shape.1, k: shape.2, transA: false, transB: true, alpha: 1, beta: 0, pad: 0)
    let r = compareWithReference(g, kernel: CPUFeatures.kernel, threads: 2, seed: 5)
    #expect(r.error <= r.tolerance, "\(g)")
  }

  @Test func zeroKOrAlphaScalesC() {
    var c: [Float] = [1, 2, 3, 4]
    let a: [Float] = [1, 1]
    c.withUnsafeMutableBufferPointer { c in
      gemm(
        transA: false, transB: false, m: 2, n: 2, k: 0, alpha: 1, a: a, lda: 1, b: a, ldb: 2,
        beta: 2, c: c.baseAddress!, ldc: 2)
    }
    #expect(c == [2, 4, 6, 8])
  }

  @Test func kernelChoiceNeverPicksAVX512WithoutIt() {
    #expect(CPUFeatures.chooseKernel(requested: "avx512", hasAVX512: false) == .avx2)
    #expect(CPUFeatures.chooseKernel(requested: nil, hasAVX512: false) == .avx2)
    #expect(CPUFeatures.chooseKernel(requested: nil, hasAVX512: true) == .avx512)
    #expect(CPUFeatures.chooseKernel(requested: "reference", hasAVX512: true) == .reference)
    #expect(CPUFeatures.chooseKernel(requested: "AVX2", hasAVX512: true) == .avx2)
  }

  @Test func matmulUsesGEMM() throws {
    let a = Tensor(shape: [2, 3], floats: [1, 2, 3, 4, 5, 6])
    let b = Tensor(shape: [3, 2], floats: [7, 8, 9, 10, 11, 12])
    #expect(try a.matmul(b).floats == [58, 64, 139, 154])
  }
}
