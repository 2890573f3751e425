import ModelGraph
import TensorCore
import Testing

@testable import Pruning

/// Wanda and SparseGPT on small random layers against plain implementations of the published
/// algorithms, and the properties each mask must have.
@Suite struct OneShotCriteriaTests {
  /// Largest |Δ| allowed between SparseGPT (Float32, lazy batched) and the Double reference.
  static let sparseGPTTolerance: Float = 2e-3

  /// A [rows, cols] weight and a calibration set X [tokens, cols] with uneven feature scales.
  static func layer(rows: Int, cols: Int, tokens: Int, seed: UInt64) -> (w: [Float], x: [Float]) {
    let w = Tensor.normal([rows, cols], seed: seed).floats
    var x = Tensor.normal([tokens, cols], seed: seed + 1).floats
    for t in 0..<tokens { for c in 0..<cols { x[t * cols + c] *= 0.2 + Float(c % 7) } }
    return (w, x)
  }

  static func calibration(_ x: [Float], cols: Int, hessian: Bool) -> LinearCalibration {
    let n = x.count / cols
    var squares = [Float](repeating: 0, count: cols)
    for t in 0..<n { for c in 0..<cols { squares[c] += x[t * cols + c] * x[t * cols + c] } }
    var h: [Float]? = nil
    if hessian {
      var m = [Float](repeating: 0, count: cols * cols)
      for i in 0..<cols {
        for j in 0..<cols {
          var s: Float = 0
          for t in 0..<n { s += x[t * cols + i] * x[t * cols + j] }
          m[i * cols + j] = 2 * s / Float(n)
        }
      }
      h = m
    }
    return LinearCalibration(inputSquares: squares, hessian: h, tokens: n)
  }

  static let targets: [LayerTarget] = [.sparsity(0.5), .sparsity(0.7), .nOfM(n: 2, m: 4)]

  @Test(arguments: targets) func wandaEqualsReference(target: LayerTarget) throws {
    let (rows, cols) = (13, 96)
    let (w0, x) = Self.layer(rows: rows, cols: cols, tokens: 40, seed: 7)
    let cal = Self.calibration(x, cols: cols, hessian: false)
    var w = w0
    let (mask, report) = try WandaImportance().prune(
      weights: &w, rows: rows, cols: cols, calibration: cal, target: target, parameter: "w")
    let expected = wandaMaskReference(weights: w0, rows: rows, cols: cols, inputSquares: cal.inputSquares, target: target)
    #expect(mask == expected)
    for i in w.indices { #expect(w[i] == (mask[i] == 0 ? 0 : w0[i])) }
    if case .sparsity(let s) = target {
      #expect(report.sparsity == Double(rows * Int(Double(cols) * s)) / Double(rows * cols))
    }
  }

  @Test(arguments: targets) func sparseGPTEqualsReference(target: LayerTarget) throws {
    // 2 blocks of 64 columns: the lazy update of the second block is exercised.
    let (rows, cols, block) = (9, 128, 64)
    let (w0, x) = Self.layer(rows: rows, cols: cols, tokens: 300, seed: 11)
    let cal = Self.calibration(x, cols: cols, hessian: true)
    var w = w0
    let (mask, report) = try SparseGPTImportance(blockSize: block).prune(
      weights: &w, rows: rows, cols: cols, calibration: cal, target: target, parameter: "w")
    let reference = sparseGPTReference(
      weights: w0, rows: rows, cols: cols, hessian: cal.hessian!, target: target, blockSize: block)
    #expect(mask == reference.mask)
    let worst = zip(w, reference.weights).map { abs($0 - $1) }.max() ?? 0
    #expect(worst < Self.sparseGPTTolerance, "max |Δ| = \(worst)")
    #expect(report.dampingEscalations == 0 && report.damping == 0.01)
    for i in w.indices where mask[i] == 0 { #expect(w[i] == 0) }
    // The OBS update changes the surviving weights (unlike Wanda).
    #expect(zip(w, w0).contains { $0 != 0 && $0 != $1 })
  }

  @Test func nOfMKeepsExactlyNPerGroup() throws {
    let (rows, cols) = (6, 64)
    let (w0, x) = Self.layer(rows: rows, cols: cols, tokens: 80, seed: 5)
    for criterion in [WandaImportance() as any LayerwiseCriterion, SparseGPTImportance(), MagnitudeImportance()] {
      for (n, m) in [(2, 4), (1, 4), (4, 8)] {
        var w = w0
        let (mask, _) = try criterion.prune(
          weights: &w, rows: rows, cols: cols, calibration: Self.calibration(x, cols: cols, hessian: true),
          target: .nOfM(n: n, m: m), parameter: "w")
        for r in 0..<rows {
          for g in stride(from: 0, to: cols, by: m) {
            let kept = (g..<(g + m)).filter { mask[r * cols + $0] != 0 }.count
            let nonzero = (g..<(g + m)).filter { w[r * cols + $0] != 0 }.count
            #expect(kept == n, "\(criterion.name) \(n):\(m) row \(r) group \(g)")
            #expect(nonzero <= n)
          }
        }
      }
    }
  }

  @Test func singularHessianEscalatesDamping() throws {
    // Rank-1 H with a dead input; with no damping the factorisation fails and λ is raised.
    let n = 6
    var h = [Float](repeating: 0, count: n * n)
    for i in 0..<(n - 1) { for j in 0..<(n - 1) { h[i * n + j] = 1 } }
    let (u, damping, escalations) = try SparseGPTImportance.inverseHessianFactor(
      h.enumerated().map { $0.offset == (n - 1) * n + n - 1 ? 1 : $0.element }, n: n, dampingFraction: 0,
      parameter: "w")
    #expect(escalations >= 1 && damping > 0)
    #expect(u.allSatisfy { $0.isFinite })
    // Through the criterion: dead input column zeroed, finite weights, escalation reported.
    var w = Tensor.normal([3, n], seed: 2).floats
    let (_, report) = try SparseGPTImportance(blockSize: 2, dampingFraction: 0).prune(
      weights: &w, rows: 3, cols: n, calibration: LinearCalibration(inputSquares: [], hessian: h, tokens: 1),
      target: .sparsity(0.5), parameter: "w")
    #expect(report.deadInputs == 1 && report.dampingEscalations >= 1)
    #expect(w.allSatisfy { $0.isFinite })
    for r in 0..<3 { #expect(w[r * n + n - 1] == 0) }
    // An indefinite H that no allowed damping repairs is an error naming the weight.
    let bad: [Float] = [1, 100, 100, 1]
    #expect(throws: PruningError.self) {
      try SparseGPTImportance.inverseHessianFactor(bad, n: 2, dampingFraction: 0.01, maxEscalations: 2, parameter: "q.weight")
    }
  }

  @Test func lowestSelectionMatchesSort() {
    var generator = SeededGenerator(seed: 3)
    for trial in 0..<50 {
      let n = 1 + trial * 7
      // Few distinct values, so that ties are common.
      let scores = (0..<n).map { _ in Float(generator.next() % 9) }
      let k = Int(generator.next() % UInt64(n + 1))
      var mask = [Float](repeating: 9, count: n)
      var scratch: [Float] = []
      scores.withUnsafeBufferPointer { s in mask.withUnsafeMutableBufferPointer { maskLowest(s, k: k, into: $0, scratch: &scratch) } }
      let order = (0..<n).sorted { scores[$0] != scores[$1] ? scores[$0] < scores[$1] : $0 < $1 }
      var expected = [Float](repeating: 1, count: n)
      for i in order.prefix(k) { expected[i] = 0 }
      #expect(mask == expected, "n \(n) k \(k)")
    }
  }

  @Test func outOfRangeTargetsAreErrors() {
    var w = [Float](repeating: 1, count: 8)
    let cal = LinearCalibration(inputSquares: [Float](repeating: 1, count: 4), tokens: 1)
    for s in [0.0, 1.0, -0.5, .nan] {
      #expect(throws: PruningError.self) {
        try WandaImportance().prune(weights: &w, rows: 2, cols: 4, calibration: cal, target: .sparsity(s), parameter: "w")
      }
    }
    #expect(throws: PruningError.self) {
      try WandaImportance().prune(weights: &w, rows: 1, cols: 8, calibration: cal, target: .nOfM(n: 2, m: 3), parameter: "w")
    }
  }

  @Test func owlAllocationKeepsTheGlobalSparsity() throws {
    let ratios = [0.01, 0.03, 0.02, 0.05]
    let sizes = [100, 100, 200, 100]
    let s = try OutlierAllocation.sparsities(outlierRatios: ratios, sizes: sizes, target: 0.7, lambda: 0.08)
    let mean = zip(s, sizes).reduce(0.0) { $0 + $1.0 * Double($1.1) } / 500
    #expect(abs(mean - 0.7) < 1e-12)
    // More outliers → lower sparsity; the spread is 2Λ.
    #expect(s[3] < s[1] && s[1] < s[2] && s[2] < s[0])
    #expect(abs((s[0] - s[3]) - 0.16) < 1e-12)
    #expect(throws: PruningError.self) {
      try OutlierAllocation.sparsities(outlierRatios: ratios, sizes: sizes, target: 0.95, lambda: 0.2)
    }
  }

  @Test func registryNamesEveryCriterion() throws {
    #expect(CriterionRegistry.names == ["magnitude", "random", "taylor", "movement", "wanda", "sparsegpt"])
    #expect(try CriterionRegistry.named("sparsegpt").needs == .calibration)
    let error = #expect(throws: PruningError.self) { try CriterionRegistry.named("obs") }
    #expect(error?.description.contains("magnitude, random, taylor, movement, wanda, sparsegpt") == true)
    // movement is reachable: built from gradients like Taylor.
    let graph = Graph(initializers: ["w": Tensor(shape: [2], floats: [1, -2])])
    let m = try CriterionRegistry.named("movement").scores!(
      CriterionInputs(graph: graph, gradients: ["w": Tensor(shape: [2], floats: [0.5, 0.5])]))
    #expect(try m.scores(for: "w", in: graph).floats == [-0.5, 1])
  }
}

extension LayerTarget: CustomTestStringConvertible {
  public var testDescription: String {
    switch self {
    case .sparsity(let s): return "\(s)"
    case .nOfM(let n, let m): return "\(n):\(m)"
    }
  }
}
