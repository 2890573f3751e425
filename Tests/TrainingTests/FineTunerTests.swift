import Foundation
import ModelGraph
import TensorCore
import Testing

@testable import Training

/// A 6-4-3 MLP (Gemm, Relu, Gemm) with input `x` [N, 6] and logits `y0` [N, 3].
func smallMLP(seed: UInt64) -> Graph {
  Graph(
    name: "mlp",
    nodes: [
      Node(name: "fc1", opType: "Gemm", inputs: ["x", "w1", "b1"], outputs: ["h"], attributes: ["transB": .int(1)]),
      Node(name: "relu", opType: "Relu", inputs: ["h"], outputs: ["r"]),
      Node(name: "fc2", opType: "Gemm", inputs: ["r", "w2", "b2"], outputs: ["y0"], attributes: ["transB": .int(1)]),
    ],
    initializers: [
      "w1": randn([4, 6], seed: seed), "b1": randn([4], seed: seed + 1, scale: 0.1),
      "w2": randn([3, 4], seed: seed + 2), "b2": randn([3], seed: seed + 3, scale: 0.1),
    ],
    inputs: [ValueInfo(name: "x", dtype: .float32, shape: [.symbolic("N"), .fixed(6)])],
    outputs: [ValueInfo(name: "y0", dtype: .float32, shape: [.symbolic("N"), .fixed(3)])])
}

@Suite struct FineTunerTests {
  @Test func maskedEntriesStayExactlyZeroInWeightsGradientsAndMoments() throws {
    var graph = smallMLP(seed: 1)
    var keep = [Float](repeating: 1, count: 24)
    for i in stride(from: 0, to: 24, by: 3) { keep[i] = 0 }
    graph.masks["w1"] = Tensor(shape: [4, 6], floats: keep)
    let tuner = try FineTuner(
      student: graph, teacher: smallMLP(seed: 9), objective: FineTuneObjective(distillation: .kl),
      optimizer: .adamW(learningRate: 0.05))
    let batch = FineTuneBatch(inputs: ["x": randn([5, 6], seed: 3)], labels: [0, 1, 2, 1, 0])
    for _ in 0..<5 { try tuner.step(batch, learningRate: 0.05, seed: 1) }
    let (_, grads, _) = try tuner.lossAndGradients(batch, training: true, seed: 2)
    let i = try #require(tuner.parameters.index(of: "w1"))
    let moments = tuner.optimizer.moments
    for j in 0..<24 where keep[j] == 0 {
      #expect(tuner.parameters.values[i][j] == 0)
      #expect(grads[i][j] == 0)
      #expect(moments.first[i][j] == 0 && moments.second[i][j] == 0)
    }
    #expect(tuner.parameters.values[i].filter { $0 != 0 }.count == 16)  // the kept entries moved, none died
    #expect(tuner.graph.initializers["w1"]!.floats.enumerated().allSatisfy { keep[$0.offset] != 0 || $0.element == 0 })
  }

  @Test(arguments: FineTuneObjective.Distillation.allCases.filter { $0 != .pooledCosine && $0 != .hidden })
  func distillationLossFallsTowardsTheTeacher(kind: FineTuneObjective.Distillation) throws {
    let tuner = try FineTuner(
      student: smallMLP(seed: 1), teacher: smallMLP(seed: 7), objective: FineTuneObjective(distillation: kind),
      optimizer: .adamW(learningRate: 0.02, weightDecay: 0))
    let batch = FineTuneBatch(inputs: ["x": randn([16, 6], seed: 3)])
    let first = try tuner.step(batch, learningRate: 0.02, seed: 1).loss
    var last = first
    for _ in 0..<60 { last = try tuner.step(batch, learningRate: 0.02, seed: 1).loss }
    #expect(last < 0.5 * first, "\(kind): \(first) → \(last)")
  }

  @Test func outputsThatDoNotFitTheLabelsFailBeforeTraining() throws {
    let tuner = try FineTuner(
      student: smallMLP(seed: 1), teacher: nil, objective: FineTuneObjective(), optimizer: .adamW())
    #expect {
      try tuner.check(FineTuneBatch(inputs: ["x": randn([2, 6], seed: 3)], labels: [0, 7]))
    } throws: { "\($0)".contains("label 7") && "\($0)".contains("3 classes") }
    #expect(throws: (any Error).self) {
      try tuner.check(FineTuneBatch(inputs: ["x": randn([2, 5], seed: 3)], labels: [0, 1]))
    }
    #expect(tuner.step == 0)
  }

  @Test func checkpointRoundTripRestoresWeightsAndMoments() throws {
    let make = {
      try FineTuner(
        student: smallMLP(seed: 1), teacher: nil, objective: FineTuneObjective(), optimizer: .adamW(learningRate: 0.01))
    }
    let batch = FineTuneBatch(inputs: ["x": randn([4, 6], seed: 3)], labels: [0, 1, 2, 0])
    let a = try make()
    for _ in 0..<3 { try a.step(batch, learningRate: 0.01, seed: 1) }
    let path = NSTemporaryDirectory() + "prunekit-ft-\(UUID().uuidString).safetensors"
    defer { try? FileManager.default.removeItem(atPath: path) }
    try a.checkpoint().write(to: path)
    let b = try make()
    try b.restore(try FineTuneCheckpoint.read(from: path).0)
    #expect(b.step == 3)
    try a.step(batch, learningRate: 0.01, seed: 1)
    try b.step(batch, learningRate: 0.01, seed: 1)
    #expect(a.parameters.values == b.parameters.values)
  }

  @Test func distillationLossGradientsMatchFiniteDifferences() throws {
    let s = randn([3, 5], seed: 1), t = randn([3, 5], seed: 2)
    let weights: [Float] = [1, 0, 1]
    let mask: [Float] = [1, 1, 0, 1, 1, 1]
    let cases: [(String, (Tensor) throws -> (loss: Float, gradient: Tensor))] = [
      ("mse", { try Loss.meanSquaredError(student: $0, teacher: t, rowWeights: weights) }),
      ("cosine", { try Loss.cosineDistance(student: $0, teacher: t, rowWeights: weights) }),
      ("kl", { try Loss.klDivergence(student: $0, teacher: t, temperature: 2) }),
      ("pooled", { try Loss.pooledCosineDistance(student: $0.reshaped([2, 3, 5]).reshaped([2, 3, 5]), teacher: t.reshaped([1, 3, 5]).expand(to: [2, 3, 5]), mask: mask) }),
    ]
    for (name, f) in cases {
      let x = name == "pooled" ? randn([2, 3, 5], seed: 4) : s
      let g = try f(x).gradient.floats
      for i in 0..<x.count {
        var plus = x.floats, minus = x.floats
        plus[i] += 1e-2
        minus[i] -= 1e-2
        let numeric =
          (Double(try f(Tensor(shape: x.shape, floats: plus)).loss) - Double(try f(Tensor(shape: x.shape, floats: minus)).loss)) / 2e-2
        #expect(abs(Double(g[i]) - numeric) <= 2e-3 * (1 + abs(numeric)), "\(name)[\(i)]: \(g[i]) vs \(numeric)")
      }
    }
  }
}
