import Testing

@testable import TensorCore

/// |sparse − dense| ≤ sparseTolerance · (1 + |dense|) per element: same products, other summation order.
let sparseTolerance: Float = 1e-5

/// A seeded weight op(B) [k, n] with the given fraction of zeros; `rowPatterns` adds an all-zero output,
/// an all-dense output and an all-zero input so the kernels meet empty and full rows and columns.
struct SparseCase: CustomStringConvertible, Sendable {
  let m: Int, k: Int, n: Int
  let sparsity: Double
  let seed: UInt64
  var description: String { "m=\(m) k=\(k) n=\(n) sparsity=\(sparsity)" }

  func weights() -> [Float] {
    var rng = SeededGenerator(seed: seed)
    var w = (0..<(k * n)).map { _ -> Float in
      let keep = Double(rng.nextUniform()) >= sparsity
      let v = rng.nextUniform() * 2 - 1
      return keep ? v : 0
    }
    if n >= 3 && k >= 2 && sparsity > 0 && sparsity < 1 {
      for p in 0..<k { w[p * n + 0] = 0 }  // output 0: empty row of Wᵀ
      for p in 0..<k { w[p * n + 1] = Float(p % 5) - 2.5 }  // output 1: fully dense
      for j in 0..<n { w[1 * n + j] = 0 }  // input 1: no weights
    }
    return w
  }

  /// Activations with ReLU-like zeros (30 %) so the csc path skips some.
  func activations() -> [Float] {
    var rng = SeededGenerator(seed: seed &+ 99)
    return (0..<(m * k)).map { _ in
      let v = rng.nextUniform() * 2 - 1
      return v < -0.4 ? 0 : v
    }
  }
}

/// Keeps the `keep` largest-magnitude entries of every group of `group` inputs per output.
func nmMasked(_ w: [Float], k: Int, n: Int, keep: Int, group: Int) -> [Float] {
  var out = w
  for j in 0..<n {
    for g in 0..<(k / group) {
      let order = (0..<group).sorted { abs(w[(g * group + $0) * n + j]) > abs(w[(g * group + $1) * n + j]) }
      for o in order.dropFirst(keep) { out[(g * group + o) * n + j] = 0 }
    }
  }
  return out
}

func denseProduct(_ x: [Float], _ w: [Float], m: Int, k: Int, n: Int, epilogue: GEMMEpilogue = .none)
  -> [Float]
{
  var y = [Float](repeating: 0, count: m * n)
  x.withUnsafeBufferPointer { xp in
    w.withUnsafeBufferPointer { wp in
      y.withUnsafeMutableBufferPointer { yp in
        gemmReference(
          transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: xp.baseAddress!, lda: k,
          b: wp.baseAddress!, ldb: n, beta: 0, c: yp.baseAddress!, ldc: n)
        epilogue.applyReference(m: m, n: n, c: yp.baseAddress!, ldc: n)
      }
    }
  }
  return y
}

func runSpMM(_ s: SparseMatrix, _ x: [Float], m: Int, threads: Int, epilogue: GEMMEpilogue = .none) -> [Float]
{
  var y = [Float](repeating: .nan, count: m * s.n)
  x.withUnsafeBufferPointer { xp in
    y.withUnsafeMutableBufferPointer { yp in
      spmm(
        s, m: m, x: xp.baseAddress!, ldx: s.k, y: yp.baseAddress!, ldy: s.n, threads: threads,
        epilogue: epilogue)
    }
  }
  return y
}

func worstRelative(_ a: [Float], _ b: [Float]) -> Float {
  precondition(a.count == b.count)
  var worst: Float = 0
  for i in a.indices {
    if a[i].isNaN || b[i].isNaN { return .infinity }
    worst = max(worst, abs(a[i] - b[i]) / (1 + abs(b[i])))
  }
  return worst
}

let sparseCases: [SparseCase] = [
  SparseCase(m: 1, k: 784, n: 300, sparsity: 0.92, seed: 1),
  SparseCase(m: 3, k: 37, n: 19, sparsity: 0.5, seed: 2),
  SparseCase(m: 33, k: 130, n: 67, sparsity: 0.9, seed: 3),
  SparseCase(m: 64, k: 300, n: 100, sparsity: 0.7, seed: 4),
  SparseCase(m: 70, k: 257, n: 129, sparsity: 0.0, seed: 5),
  SparseCase(m: 5, k: 17, n: 9, sparsity: 1.0, seed: 6),
  SparseCase(m: 40, k: 16, n: 3, sparsity: 0.3, seed: 7),
]

@Suite struct SparseKernelTests {
  @Test(arguments: sparseCases, [1, 2])
  func csrAndCscMatchDense(_ c: SparseCase, threads: Int) throws {
    let w = c.weights()
    let x = c.activations()
    let expected = denseProduct(x, w, m: c.m, k: c.k, n: c.n)
    for layout in [SparseMatrix.Layout.csr, .csc, .blocked] {
      for panel in [128, 7] {
        let s = try w.withUnsafeBufferPointer {
          try SparseMatrix.make(
            b: $0.baseAddress!, ldb: c.n, transposed: false, k: c.k, n: c.n, layout: layout, panelWidth: panel
          )
        }
        #expect(s.dense() == w, "\(layout) round trip")
        let got = runSpMM(s, x, m: c.m, threads: threads)
        #expect(worstRelative(got, expected) <= sparseTolerance, "\(layout) panel \(panel) \(c)")
      }
    }
  }

  @Test(arguments: [(2, 4), (4, 8), (1, 4)], [1, 2])
  func nmMatchesDense(pattern: (Int, Int), threads: Int) throws {
    let (keep, group) = pattern
    for c in [
      SparseCase(m: 1, k: 32, n: 5, sparsity: 0, seed: 8),
      SparseCase(m: 45, k: 264, n: 70, sparsity: 0.2, seed: 9),
    ] {
      let w = nmMasked(c.weights(), k: c.k, n: c.n, keep: keep, group: group)
      let x = c.activations()
      let s = try w.withUnsafeBufferPointer {
        try SparseMatrix.make(
          b: $0.baseAddress!, ldb: c.n, transposed: false, k: c.k, n: c.n,
          layout: .nm(keep: keep, group: group))
      }
      #expect(s.storedCount == c.n * c.k / group * keep)
      #expect(s.dense() == w)
      let got = runSpMM(s, x, m: c.m, threads: threads)
      #expect(worstRelative(got, denseProduct(x, w, m: c.m, k: c.k, n: c.n)) <= sparseTolerance, "\(c)")
    }
  }

  @Test func nmRejectsAGroupWithTooManyNonZeros() {
    let w: [Float] = [1, 1, 1, 0]  // k = 4, n = 1: three non-zeros in one group
    #expect(throws: TensorError.self) {
      try w.withUnsafeBufferPointer {
        try SparseMatrix.make(
          b: $0.baseAddress!, ldb: 1, transposed: false, k: 4, n: 1, layout: .nm(keep: 2, group: 4))
      }
    }
  }

  @Test(arguments: [SparseMatrix.Layout.csr, .csc, .blocked, .nm(keep: 2, group: 4)])
  func transposedWeightsAndEpilogueMatchReference(layout: SparseMatrix.Layout) throws {
    // Gemm's transB form: W stored [n, k].
    let (m, k, n) = (37, 48, 21)
    var c = SparseCase(m: m, k: k, n: n, sparsity: 0.6, seed: 11).weights()
    if case .nm = layout { c = nmMasked(c, k: k, n: n, keep: 2, group: 4) }
    var stored = [Float](repeating: 0, count: n * k)
    for p in 0..<k { for j in 0..<n { stored[j * k + p] = c[p * n + j] } }
    let s = try stored.withUnsafeBufferPointer {
      try SparseMatrix.make(b: $0.baseAddress!, ldb: k, transposed: true, k: k, n: n, layout: layout)
    }
    let x = SparseCase(m: m, k: k, n: n, sparsity: 0, seed: 12).activations()
    let bias = (0..<n).map { Float($0) * 0.1 - 1 }
    let residual = (0..<(m * n)).map { Float($0 % 7) * 0.25 }
    for activation in [GEMMEpilogue.Activation.none, .relu, .gelu] {
      bias.withUnsafeBufferPointer { bp in
        residual.withUnsafeBufferPointer { rp in
          let e = GEMMEpilogue(
            bias: bp.baseAddress, activation: activation, residual: rp.baseAddress, residualLD: n)
          let got = runSpMM(s, x, m: m, threads: 2, epilogue: e)
          var reference = [Float](repeating: 0, count: m * n)
          x.withUnsafeBufferPointer { xp in
            reference.withUnsafeMutableBufferPointer { yp in
              spmmReference(s, m: m, x: xp.baseAddress!, ldx: k, y: yp.baseAddress!, ldy: n, epilogue: e)
            }
          }
          #expect(worstRelative(got, reference) <= sparseTolerance, "\(layout) \(activation)")
          #expect(worstRelative(got, denseProduct(x, c, m: m, k: k, n: n, epilogue: e)) <= sparseTolerance)
        }
      }
    }
  }

  @Test(arguments: [SparseMatrix.Layout.csr, .csc, .nm(keep: 2, group: 4)])
  func codebookValuesMatchTheirFloatExpansion(layout: SparseMatrix.Layout) throws {
    let (m, k, n) = (9, 40, 33)
    let table: [Float] = [0, -0.75, -0.25, 0.5, 1.25]
    var rng = SeededGenerator(seed: 21)
    var codes = (0..<(k * n)).map { _ in UInt8(rng.next() % 5) }
    if case .nm = layout {
      for j in 0..<n {
        for g in 0..<(k / 4) { codes[(g * 4 + 2) * n + j] = 0; codes[(g * 4 + 3) * n + j] = 0 }
      }
    }
    let w = codes.map { table[Int($0)] }
    let s = try w.withUnsafeBufferPointer {
      try SparseMatrix.make(
        b: $0.baseAddress!, ldb: n, transposed: false, k: k, n: n, layout: layout, codebook: (codes, table))
    }
    if case .codebook = s.values {} else { Issue.record("expected codebook values") }
    #expect(s.dense() == w)
    let x = SparseCase(m: m, k: k, n: n, sparsity: 0, seed: 22).activations()
    #expect(
      worstRelative(runSpMM(s, x, m: m, threads: 1), denseProduct(x, w, m: m, k: k, n: n)) <= sparseTolerance)
  }

  /// An image normalised like MNIST: blank pixels hold −0.4242, not 0; the input-major kernels skip
  /// the most common value through y = b·Σ_p W[p, :] + Σ over x[p] ≠ b of (x[p] − b)·W[p, :].
  @Test(arguments: [SparseMatrix.Layout.csc, .blocked])
  func inputMajorKernelsSkipTheBackgroundValue(layout: SparseMatrix.Layout) throws {
    let c = SparseCase(m: 2, k: 784, n: 300, sparsity: 0.92, seed: 31)
    let w = c.weights()
    let background: Float = -0.4242
    var rng = SeededGenerator(seed: 32)
    let x = (0..<(c.m * c.k)).map { _ -> Float in rng.nextUniform() < 0.8 ? background : rng.nextUniform() * 3
    }
    let s = try w.withUnsafeBufferPointer {
      try SparseMatrix.make(b: $0.baseAddress!, ldb: c.n, transposed: false, k: c.k, n: c.n, layout: layout)
    }
    let got = runSpMM(s, x, m: c.m, threads: 1)
    #expect(worstRelative(got, denseProduct(x, w, m: c.m, k: c.k, n: c.n)) <= sparseTolerance)
  }

  /// 1×1 convolution planes: W [n, k] · X [k, m] channel-major, with bias and a ReLU6 clip.
  @Test(arguments: [(k: 24, n: 40, m: 49), (k: 130, n: 17, m: 64), (k: 8, n: 5, m: 3)], [1, 2])
  func channelMajorMatchesReference(shape: (k: Int, n: Int, m: Int), threads: Int) throws {
    let (k, n, m) = shape
    for sparsity in [0.0, 0.7, 0.95] {
      let c = SparseCase(m: 1, k: k, n: n, sparsity: sparsity, seed: 41)
      let w = c.weights()  // op(B) [k, n]: input channel p, output channel j
      let s = try w.withUnsafeBufferPointer {
        try SparseMatrix.make(
          b: $0.baseAddress!, ldb: n, transposed: false, k: k, n: n, layout: .csr, panelWidth: 7)
      }
      var rng = SeededGenerator(seed: 42)
      let ldx = m + 3
      let x = (0..<(k * ldx)).map { _ in rng.nextUniform() * 4 - 2 }
      let bias = (0..<n).map { Float($0 % 5) - 2 }
      var fast = [Float](repeating: .nan, count: n * m)
      var reference = fast
      x.withUnsafeBufferPointer { xp in
        bias.withUnsafeBufferPointer { bp in
          fast.withUnsafeMutableBufferPointer { yp in
            spmmChannelMajor(
              s, m: m, x: xp.baseAddress!, ldx: ldx, y: yp.baseAddress!, ldy: m, bias: bp.baseAddress!,
              clip: 0...6,
              threads: threads)
          }
          reference.withUnsafeMutableBufferPointer { yp in
            spmmChannelMajorReference(
              s, m: m, x: xp.baseAddress!, ldx: ldx, y: yp.baseAddress!, ldy: m, bias: bp.baseAddress!,
              clip: 0...6)
          }
        }
      }
      #expect(worstRelative(fast, reference) <= sparseTolerance, "k=\(k) n=\(n) m=\(m) sparsity \(sparsity)")
    }
  }

  @Test func blockedRefusesCodebookValues() {
    let w: [Float] = [1, 0, 2, 0]
    #expect(throws: TensorError.self) {
      try w.withUnsafeBufferPointer {
        try SparseMatrix.make(
          b: $0.baseAddress!, ldb: 2, transposed: false, k: 2, n: 2, layout: .blocked,
          codebook: ([1, 0, 2, 0], [0, 1, 2]))
      }
    }
  }

  /// N:M pads groups with fewer than `keep` non-zeros with a zero weight; a codebook without a 0
  /// centroid (k-means rarely has one) must get one, or the padding would read a real centroid.
  @Test func nmPaddingWithACodebookWithoutZero() throws {
    let (m, k, n) = (3, 16, 5)
    let table: [Float] = [-0.75, 0.5, 1.25]
    var codes = [UInt8](repeating: 0, count: k * n)
    var w = [Float](repeating: 0, count: k * n)
    for j in 0..<n {
      for g in 0..<(k / 4) where (g + j) % 2 == 0 {
        codes[(g * 4) * n + j] = UInt8((g + j) % 3); w[(g * 4) * n + j] = table[(g + j) % 3]
      }
    }
    let s = try w.withUnsafeBufferPointer {
      try SparseMatrix.make(
        b: $0.baseAddress!, ldb: n, transposed: false, k: k, n: n, layout: .nm(keep: 2, group: 4),
        codebook: (codes, table))
    }
    #expect(s.dense() == w)
    let x = SparseCase(m: m, k: k, n: n, sparsity: 0, seed: 51).activations()
    #expect(
      worstRelative(runSpMM(s, x, m: m, threads: 1), denseProduct(x, w, m: m, k: k, n: n)) <= sparseTolerance)
  }

  @Test func corruptMetadataIsAnErrorNamingTheLayer() throws {
    let w: [Float] = [1, 0, 2, 0, 0, 3]  // k = 2, n = 3
    let good = try w.withUnsafeBufferPointer {
      try SparseMatrix.make(b: $0.baseAddress!, ldb: 3, transposed: false, k: 2, n: 3, layout: .csr)
    }
    var starts = good.starts
    starts[1] = 99
    let badStart = SparseMatrix(
      layout: .csr, n: 3, k: 2, panelWidth: good.panelWidth, starts: starts, indices: good.indices,
      values: good.values)
    var indices = good.indices
    indices[0] = 5
    let badIndex = SparseMatrix(
      layout: .csr, n: 3, k: 2, panelWidth: good.panelWidth, starts: good.starts, indices: indices,
      values: good.values)
    let badCode = SparseMatrix(
      layout: .csr, n: 3, k: 2, panelWidth: good.panelWidth, starts: good.starts, indices: good.indices,
      values: .codebook(codes: [0, 1, 7], table: [1, 2]))
    for bad in [badStart, badIndex, badCode] {
      do {
        try bad.validate(name: "fc1.weight")
        Issue.record("accepted corrupt metadata")
      } catch {
        #expect("\(error)".contains("fc1.weight"))
      }
    }
  }
}
