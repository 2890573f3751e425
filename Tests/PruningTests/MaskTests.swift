import ModelGraph
import Testing

@testable import Pruning
@testable import TensorCore

/// Small two-layer MLP graph: x[B,8] → Gemm(w1 [6,8], transB) → Relu → Gemm(w2 [4,6], transB).
func tinyMLP(seed: UInt64 = 1, quantized: Bool = false) -> Graph {
  var g = Graph(
    nodes: [
      Node(
        name: "fc1", opType: "Gemm", inputs: ["x", "w1", "b1"], outputs: ["h"],
        attributes: ["transB": .int(1)]),
      Node(name: "relu", opType: "Relu", inputs: ["h"], outputs: ["r"]),
      Node(
        name: "fc2", opType: "Gemm", inputs: ["r", "w2", "b2"], outputs: ["y"],
        attributes: ["transB": .int(1)]),
    ],
    inputs: [ValueInfo(name: "x", dtype: .float32, shape: [.symbolic("batch"), .fixed(8)])],
    outputs: [ValueInfo(name: "y", dtype: .float32, shape: [.symbolic("batch"), .fixed(4)])])
  func weights(_ shape: [Int], _ s: UInt64) -> Tensor {
    var t = Tensor.normal(shape, seed: s)
    // Quantized values create many ties, exercising the tie rule.
    if quantized { t.floats = t.floats.map { ($0 * 2).rounded() / 2 } }
    return t
  }
  g.setInitializer("w1", weights([6, 8], seed))
  g.setInitializer("b1", Tensor.normal([6], seed: seed + 1))
  g.setInitializer("w2", weights([4, 6], seed + 2))
  g.setInitializer("b2", Tensor.normal([4], seed: seed + 3))
  return g
}

@Suite struct MaskTests {
  @Test func defaultSelectionIsWeightsNotBiases() {
    #expect(PrunableSelection.default.parameters(in: tinyMLP()) == ["w1", "w2"])
    let custom = PrunableSelection(include: ["b1"], exclude: ["w2"])
    #expect(custom.parameters(in: tinyMLP()) == ["w1", "b1"])
  }

  @Test(arguments: [0.0, 0.3, 0.5, 0.77, 0.9, 1.0], [false, true])
  func globalMagnitudeEqualsBruteForce(sparsity: Double, quantized: Bool) throws {
    let graph = tinyMLP(seed: 7, quantized: quantized)
    let names = ["w1", "w2"]
    let builder = MaskBuilder(criterion: MagnitudeImportance(), scope: .global)
    let masks = try builder.masks(for: graph, parameters: names, sparsity: sparsity)
    // Brute force: list every (|w|, global index), sort, prune the first k.
    var all: [(Float, Int)] = []
    for name in names { for v in graph.initializers[name]!.floats { all.append((abs(v), all.count)) } }
    let k = Int((sparsity * Double(all.count)).rounded())
    let pruned = Set(all.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }.prefix(k).map(\.1))
    let flat = names.flatMap { masks[$0]!.floats }
    for i in 0..<flat.count { #expect((flat[i] == 0) == pruned.contains(i), "element \(i)") }
  }

  @Test func layerScopePrunesEachLayerToTheTarget() throws {
    var graph = tinyMLP()
    try pruneUnstructured(&graph, builder: MaskBuilder(criterion: MagnitudeImportance()), sparsity: 0.5)
    let kept = graph.keptFractions(of: ["w1", "w2"])
    #expect(kept["w1"] == 0.5)
    #expect(kept["w2"] == 0.5)
    // The survivors of w1 are exactly its largest half.
    let w = graph.initializers["w1"]!.floats.filter { $0 != 0 }.map { abs($0) }
    let original = tinyMLP().initializers["w1"]!.floats.map { abs($0) }.sorted()
    #expect(w.min()! >= original[original.count / 2 - 1])
  }

  @Test func existingMasksOnlyShrink() throws {
    var graph = tinyMLP()
    let random = MaskBuilder(criterion: RandomImportance(seed: 3))
    try pruneUnstructured(&graph, builder: random, sparsity: 0.5)
    let first = graph.masks["w1"]!.floats
    try pruneUnstructured(&graph, builder: MaskBuilder(criterion: RandomImportance(seed: 99)), sparsity: 0.75)
    let second = graph.masks["w1"]!.floats
    for i in 0..<first.count where first[i] == 0 { #expect(second[i] == 0) }
    #expect(graph.keptFractions(of: ["w1"])["w1"] == 0.25)
  }

  @Test func randomImportanceIsSeeded() throws {
    let g = tinyMLP()
    let a = try RandomImportance(seed: 5).scores(for: "w1", in: g)
    #expect(a == (try RandomImportance(seed: 5).scores(for: "w1", in: g)))
    #expect(a != (try RandomImportance(seed: 6).scores(for: "w1", in: g)))
  }

  @Test(arguments: [(2, 4), (4, 8), (1, 4)])
  func nOfMKeepsExactlyNPerRunAlongTheInput(n: Int, m: Int) throws {
    var graph = tinyMLP()
    graph.setInitializer("w1", Tensor.normal([6, 16], seed: 11))
    let builder = MaskBuilder(criterion: MagnitudeImportance(), pattern: .nOfM(n: n, m: m))
    let masks = try builder.masks(for: graph, parameters: ["w1"], sparsity: 0)
    let mask = masks["w1"]!.floats
    let w = graph.initializers["w1"]!.floats
    for row in 0..<6 {
      for start in stride(from: 0, to: 16, by: m) {
        let run = (0..<m).map { row * 16 + start + $0 }
        #expect(run.reduce(0) { $0 + Int(mask[$1]) } == n)
        // Every kept weight is at least as large as every pruned one in its run.
        let keptMin = run.filter { mask[$0] == 1 }.map { abs(w[$0]) }.min() ?? .infinity
        let prunedMax = run.filter { mask[$0] == 0 }.map { abs(w[$0]) }.max() ?? -.infinity
        #expect(keptMin >= prunedMax)
      }
    }
  }

  @Test func nOfMFollowsTheInputAxisOfMatMulWeights() throws {
    // MatMul B is [in, out]: runs go down the columns.
    var g = Graph(nodes: [Node(name: "mm", opType: "MatMul", inputs: ["x", "b"], outputs: ["y"])])
    g.setInitializer("b", Tensor.normal([8, 3], seed: 2))
    let masks = try MaskBuilder(criterion: MagnitudeImportance(), pattern: .nOfM(n: 2, m: 4))
      .masks(for: g, parameters: ["b"], sparsity: 0)
    let mask = masks["b"]!.floats
    for col in 0..<3 {
      for start in [0, 4] { #expect((0..<4).reduce(0) { $0 + Int(mask[(start + $1) * 3 + col]) } == 2) }
    }
  }

  @Test func nOfMRejectsIndivisibleInput() {
    let builder = MaskBuilder(criterion: MagnitudeImportance(), pattern: .nOfM(n: 2, m: 4))
    #expect(throws: PruningError.self) { try builder.masks(for: tinyMLP(), parameters: ["w2"], sparsity: 0) }
  }

  @Test(arguments: [(1, 4), (4, 4), (2, 2)])
  func blockMasksRemoveWholeBlocks(rows: Int, cols: Int) throws {
    var graph = tinyMLP()
    graph.setInitializer("w1", Tensor.normal([8, 16], seed: 4))
    let builder = MaskBuilder(criterion: MagnitudeImportance(), pattern: .block(rows: rows, cols: cols))
    let mask = try builder.masks(for: graph, parameters: ["w1"], sparsity: 0.5)["w1"]!.floats
    var zeroBlocks = 0
    for bi in 0..<(8 / rows) {
      for bj in 0..<(16 / cols) {
        let cells = (0..<rows).flatMap { r in
          (0..<cols).map { c in mask[(bi * rows + r) * 16 + bj * cols + c] }
        }
        #expect(Set(cells).count == 1, "block (\(bi),\(bj)) is mixed")
        if cells[0] == 0 { zeroBlocks += 1 }
      }
    }
    #expect(zeroBlocks == (8 / rows) * (16 / cols) / 2)
  }

  @Test func taylorAndMovementScores() throws {
    let g = tinyMLP()
    let w = g.initializers["w2"]!
    let grad = Tensor.normal(w.shape, seed: 9)
    let taylor = try TaylorImportance(gradients: ["w2": grad]).scores(for: "w2", in: g).floats
    for i in 0..<w.count { #expect(taylor[i] == abs(w.floats[i] * grad.floats[i])) }
    var movement = MovementImportance()
    try movement.accumulate(graph: g, gradients: ["w2": grad])
    try movement.accumulate(graph: g, gradients: ["w2": grad])
    let s = try movement.scores(for: "w2", in: g).floats
    for i in 0..<w.count { #expect(abs(s[i] + 2 * w.floats[i] * grad.floats[i]) < 1e-6) }
    #expect(throws: PruningError.self) { try TaylorImportance(gradients: [:]).scores(for: "w2", in: g) }
  }
}
