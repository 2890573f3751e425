import Testing

@testable import TensorCore

/// The GEMM epilogue (bias, activation, residual per finished block) and pre-packed B against the
/// scalar definitions: `gemmReference` followed by `GEMMEpilogue.applyReference`.
@Suite struct GEMMEpiloguePackedTests {
  /// GELU's fast erf differs from libm's by ≤ 3.4e-7; the rest is the GEMM's rounding order.
  static let epilogueTolerance: Float = 1e-5

  struct Problem {
    let m: Int, n: Int, k: Int
    let transA: Bool, transB: Bool
    let a: [Float], b: [Float], bias: [Float], residual: [Float]

    init(m: Int, n: Int, k: Int, transA: Bool = false, transB: Bool = false, seed: UInt64) {
      (self.m, self.n, self.k, self.transA, self.transB) = (m, n, k, transA, transB)
      var rng = SeededGenerator(seed: seed)
      a = (0..<(m * k)).map { _ in rng.nextUniform() * 2 - 1 }
      b = (0..<(k * n)).map { _ in rng.nextUniform() * 2 - 1 }
      bias = (0..<n).map { _ in rng.nextUniform() * 2 - 1 }
      residual = (0..<(m * n)).map { _ in rng.nextUniform() * 2 - 1 }
    }

    var lda: Int { transA ? m : k }
    var ldb: Int { transB ? k : n }
    var tolerance: Float { gemmTolerancePerK * Float(max(k, 1)) + GEMMEpiloguePackedTests.epilogueTolerance }

    /// (fast, reference) outputs; `packed` runs `gemm(packedB:)` instead of the packing `gemm`.
    func run(
      activation: GEMMEpilogue.Activation, useBias: Bool, useResidual: Bool, kernel: KernelKind, threads: Int,
      packed: Bool
    ) -> ([Float], [Float]) {
      var fast = [Float](repeating: .nan, count: m * n)
      var reference = fast
      bias.withUnsafeBufferPointer { bp in
        residual.withUnsafeBufferPointer { rp in
          let epilogue = GEMMEpilogue(
            bias: useBias ? bp.baseAddress : nil, activation: activation,
            residual: useResidual ? rp.baseAddress : nil, residualLD: n)
          fast.withUnsafeMutableBufferPointer { c in
            if packed {
              let p = PackedMatrix(b: b, ldb: ldb, transposed: transB, k: k, n: n, kernel: kernel)
              gemm(
                transA: transA, m: m, alpha: 1, a: a, lda: lda, packedB: p, beta: 0, c: c.baseAddress!, ldc: n,
                threads: threads, epilogue: epilogue)
            } else {
              gemm(
                transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a: a, lda: lda, b: b, ldb: ldb,
                beta: 0, c: c.baseAddress!, ldc: n, threads: threads, kernel: kernel, epilogue: epilogue)
            }
          }
          reference.withUnsafeMutableBufferPointer { c in
            gemmReference(
              transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a: a, lda: lda, b: b, ldb: ldb,
              beta: 0, c: c.baseAddress!, ldc: n)
            epilogue.applyReference(m: m, n: n, c: c.baseAddress!, ldc: n)
          }
        }
      }
      return (fast, reference)
    }
  }

  static func worst(_ x: [Float], _ y: [Float]) -> Float {
    zip(x, y).map { $0.isNaN || $1.isNaN ? .infinity : abs($0 - $1) }.max() ?? 0
  }

  /// Shapes through every path: GEMV (m = 1, n = 1), tile edges, k across the k blocking, both splits.
  static let shapes: [(Int, Int, Int)] = [
    (1, 37, 20), (29, 1, 33), (9, 33, 17), (31, 65, 513), (130, 70, 300), (600, 40, 100), (64, 300, 1100),
  ]

  @Test(arguments: [KernelKind.avx512, .avx2, .reference], [1, 2])
  func epilogueMatchesReference(kernel: KernelKind, threads: Int) {
    var seed: UInt64 = 1
    for (m, n, k) in Self.shapes {
      for activation in [GEMMEpilogue.Activation.none, .relu, .gelu] {
        for (useBias, useResidual) in [(true, false), (false, true), (true, true)] {
          seed += 1
          let p = Problem(m: m, n: n, k: k, transA: seed % 2 == 0, transB: seed % 3 == 0, seed: seed)
          let (fast, reference) = p.run(
            activation: activation, useBias: useBias, useResidual: useResidual, kernel: kernel,
            threads: threads, packed: false)
          let error = Self.worst(fast, reference)
          #expect(
            error <= p.tolerance,
            "m=\(m) n=\(n) k=\(k) \(activation) bias=\(useBias) residual=\(useResidual): \(error)")
        }
      }
    }
  }

  @Test(arguments: [KernelKind.avx512, .avx2], [1, 2])
  func prePackedBMatchesReference(kernel: KernelKind, threads: Int) {
    var seed: UInt64 = 50
    for (m, n, k) in Self.shapes + [(3, 2100, 7), (200, 1, 600)] {
      for transB in [false, true] {
        seed += 1
        let p = Problem(m: m, n: n, k: k, transA: seed % 2 == 0, transB: transB, seed: seed)
        let (fast, reference) = p.run(
          activation: seed % 3 == 0 ? .gelu : .none, useBias: true, useResidual: seed % 2 == 1,
          kernel: kernel, threads: threads, packed: true)
        let error = Self.worst(fast, reference)
        #expect(error <= p.tolerance, "packed m=\(m) n=\(n) k=\(k) transB=\(transB): \(error)")
      }
    }
  }

  /// Small integers make every sum exact: a misplaced packed panel shows as an exact mismatch.
  @Test func prePackedPanelsAreExactOnIntegers() {
    let (m, n, k) = (50, 77, 1030)
    var rng = SeededGenerator(seed: 9)
    let a = (0..<(m * k)).map { _ in Float(Int(rng.next() % 7)) - 3 }
    let b = (0..<(k * n)).map { _ in Float(Int(rng.next() % 7)) - 3 }
    var fast = [Float](repeating: 0, count: m * n)
    var reference = fast
    let packed = PackedMatrix(b: b, ldb: n, transposed: false, k: k, n: n)
    #expect(packed.byteCount >= k * n * 4)
    fast.withUnsafeMutableBufferPointer { c in
      gemm(transA: false, m: m, alpha: 1, a: a, lda: k, packedB: packed, beta: 0, c: c.baseAddress!, ldc: n)
    }
    reference.withUnsafeMutableBufferPointer { c in
      gemmReference(
        transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: b, ldb: n, beta: 0,
        c: c.baseAddress!, ldc: n)
    }
    #expect(fast == reference)
  }

  @Test func layerNormInPlaceMatchesReference() throws {
    for (rows, d) in [(1, 1), (3, 17), (40, 384), (300, 50)] {
      let x = Tensor.uniform([rows, d], low: -4, high: 4, seed: UInt64(rows + d))
      let g = Tensor.uniform([d], low: 0.5, high: 1.5, seed: 3)
      let b = Tensor.uniform([d], low: -1, high: 1, seed: 4)
      for bias in [b, nil] {
        var v = x.floats
        let gv = g.floats
        let bv = bias?.floats
        v.withUnsafeMutableBufferPointer { p in
          gv.withUnsafeBufferPointer { gp in
            if let bv {
              bv.withUnsafeBufferPointer { bp in
                layerNormInPlace(
                  p.baseAddress!, rows: rows, d: d, scale: gp.baseAddress!, bias: bp.baseAddress!, epsilon: 1e-5)
              }
            } else {
              layerNormInPlace(p.baseAddress!, rows: rows, d: d, scale: gp.baseAddress!, bias: nil, epsilon: 1e-5)
            }
          }
        }
        let expected = try layerNormReference(x, scale: g, bias: bias, epsilon: 1e-5).floats
        let error = Self.worst(v, expected)
        #expect(error <= 1e-4, "rows=\(rows) d=\(d) bias=\(bias != nil): \(error)")
      }
    }
  }
}
