import Foundation
import ModelGraph
import TensorCore
import Testing

@testable import Training

/// The fixture written by scripts/training_optimizer_fixture.py (PyTorch 2.13).
struct OptimizerFixture: Decodable {
  struct Run: Decodable { var steps: [[String: [Float]]] }
  var inputs: [Float]
  var labels: [Int]
  var initial: [String: [Float]]
  var loss: Float
  var gradients: [String: [Float]]
  var optimizers: [String: Run]

  static func load() throws -> OptimizerFixture {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("Fixtures/optimizer_steps.json")
    return try JSONDecoder().decode(OptimizerFixture.self, from: Data(contentsOf: url))
  }

  /// The 5-4-3 MLP of the fixture as a graph with its initial weights.
  func graph() -> Graph {
    let shapes = ["fc1.weight": [4, 5], "fc1.bias": [4], "fc2.weight": [3, 4], "fc2.bias": [3]]
    var g = Graph(
      name: "mlp",
      nodes: [
        Node(
          name: "fc1", opType: "Gemm", inputs: ["x", "fc1.weight", "fc1.bias"], outputs: ["h"],
          attributes: ["transB": .int(1)]),
        Node(name: "relu", opType: "Relu", inputs: ["h"], outputs: ["r"]),
        Node(
          name: "fc2", opType: "Gemm", inputs: ["r", "fc2.weight", "fc2.bias"], outputs: ["logits"],
          attributes: ["transB": .int(1)]),
      ],
      inputs: [ValueInfo(name: "x", dtype: .float32, shape: nil)],
      outputs: [ValueInfo(name: "logits", dtype: .float32, shape: nil)])
    for name in ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"] {
      g.setInitializer(name, Tensor(shape: shapes[name]!, floats: initial[name]!))
    }
    return g
  }

  var batch: Batch { Batch(inputs: Tensor(shape: [6, 5], floats: inputs), labels: labels) }
}

@Suite struct OptimizerTests {
  /// PyTorch keeps Float32 too; differences are summation order only.
  static let tolerance: Float = 2e-5

  @Test func lossAndGradientsMatchPyTorch() throws {
    let fixture = try OptimizerFixture.load()
    let trainer = try Trainer(graph: fixture.graph(), optimizer: SGD(learningRate: 0))
    let (loss, _, grads) = try trainer.gradients(on: fixture.batch)
    #expect(abs(loss - fixture.loss) < OptimizerTests.tolerance)
    for (i, name) in trainer.parameters.names.enumerated() {
      let expected = try #require(fixture.gradients[name])
      let worst = zip(grads[i], expected).map { abs($0 - $1) }.max()!
      #expect(worst < OptimizerTests.tolerance, "\(name): max |Δ| \(worst)")
    }
  }

  static let optimizers: [(String, any Optimizer)] = [
    ("sgd_momentum", SGD(learningRate: 0.1, momentum: 0.9, weightDecay: 0.01)),
    ("sgd_nesterov", SGD(learningRate: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01)),
    ("adam", Adam(learningRate: 0.01, weightDecay: 0.01)),
    ("adamw", Adam.adamW(learningRate: 0.01, weightDecay: 0.1)),
  ]

  @Test(arguments: 0..<4)
  func threeStepsMatchPyTorch(_ which: Int) throws {
    let (name, optimizer) = OptimizerTests.optimizers[which]
    let fixture = try OptimizerFixture.load()
    let run = try #require(fixture.optimizers[name])
    let trainer = try Trainer(graph: fixture.graph(), optimizer: optimizer)
    for (step, expected) in run.steps.enumerated() {
      try trainer.step(on: fixture.batch, learningRate: trainer.optimizer.learningRate)
      for (i, parameter) in trainer.parameters.names.enumerated() {
        let worst = zip(trainer.parameters.values[i], expected[parameter]!).map { abs($0 - $1) }.max()!
        #expect(worst < OptimizerTests.tolerance, "\(name) step \(step + 1) \(parameter): max |Δ| \(worst)")
      }
    }
  }

  /// Masked entries stay exactly 0 in weights, gradients and every optimizer state through steps.
  @Test(arguments: 0..<4)
  func maskedEntriesStayZero(_ which: Int) throws {
    let (name, optimizer) = OptimizerTests.optimizers[which]
    let fixture = try OptimizerFixture.load()
    var graph = fixture.graph()
    var rng = SeededGenerator(seed: 3)
    let mask = (0..<20).map { _ in rng.nextUniform() < 0.5 ? Float(0) : 1 }
    graph.masks["fc1.weight"] = Tensor(shape: [4, 5], floats: mask)
    let trainer = try Trainer(graph: graph, optimizer: optimizer)
    let index = try #require(trainer.parameters.index(of: "fc1.weight"))
    var sawGradient = false
    trainer.onStep = { report, parameters in
      for j in 0..<20 where mask[j] == 0 {
        #expect(report.gradients[index][j] == 0, "\(name): gradient of masked entry \(j)")
        #expect(parameters.values[index][j] == 0, "\(name): masked weight \(j)")
      }
      sawGradient = sawGradient || report.gradients[index].contains { $0 != 0 }
    }
    for _ in 0..<5 { try trainer.step(on: fixture.batch, learningRate: trainer.optimizer.learningRate) }
    #expect(sawGradient)
    let kept = (0..<20).filter { mask[$0] != 0 }
    #expect(kept.contains { trainer.parameters.values[index][$0] != fixture.initial["fc1.weight"]![$0] })
    // The exported graph keeps the mask and the zeros.
    let out = trainer.graph
    #expect(out.masks["fc1.weight"] == graph.masks["fc1.weight"])
    #expect(zip(out.initializers["fc1.weight"]!.floats, mask).allSatisfy { $1 != 0 || $0 == 0 })
  }

  @Test func schedules() {
    let cosine = LearningRateSchedule.cosine(minimumFactor: 0.1)
    #expect(cosine.rate(base: 1, epoch: 0, step: 0, totalSteps: 100) == 1)
    #expect(abs(cosine.rate(base: 1, epoch: 0, step: 50, totalSteps: 100) - 0.55) < 1e-6)
    #expect(abs(cosine.rate(base: 1, epoch: 0, step: 100, totalSteps: 100) - 0.1) < 1e-6)
    let step = LearningRateSchedule.step(everyEpochs: 3, gamma: 0.1)
    #expect(step.rate(base: 1, epoch: 2, step: 0, totalSteps: 1) == 1)
    #expect(abs(step.rate(base: 1, epoch: 3, step: 0, totalSteps: 1) - 0.1) < 1e-7)
    #expect(abs(step.rate(base: 1, epoch: 7, step: 0, totalSteps: 1) - 0.01) < 1e-8)
  }

  @Test func initialisersMatchPyTorchBounds() {
    // nn.Linear(784, 300): bound 1/√784 = 1/28 for weight and bias.
    let w = Initializer.kaimingUniform([300, 784], seed: 1).floats
    #expect(w.allSatisfy { abs($0) <= 1 / 28 } && w.max()! > 0.9 / 28 && w.min()! < -0.9 / 28)
    // Conv [50, 20, 5, 5]: fanIn 500.
    #expect(Initializer.fans([50, 20, 5, 5]) == (500, 1250))
    let x = Initializer.xavierUniform([30, 20], seed: 2).floats
    let bound = (6 / Float(50)).squareRoot()
    #expect(x.allSatisfy { abs($0) <= bound } && x.max()! > 0.9 * bound)
    let k = Initializer.kaimingNormal([400, 100], seed: 3).floats
    let std = (k.map { $0 * $0 }.reduce(0, +) / Float(k.count)).squareRoot()
    #expect(abs(std - (2 / Float(100)).squareRoot()) < 0.01)
    #expect(Initializer.kaimingUniform([3, 4], seed: 9) == Initializer.kaimingUniform([3, 4], seed: 9))
  }
}
