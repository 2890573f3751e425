import Foundation
import ModelGraph
import TensorCore
import Testing

@testable import Training

@Suite struct TrainerTests {
  @Test func leNetShapesAndParameterCounts() throws {
    for (graph, count) in [(LeNet.lenet300100(seed: 1), 266_610), (LeNet.lenet5(seed: 1), 431_080)] {
      let parameters = try ParameterSet(graph: graph)
      #expect(parameters.scalarCount == count, "\(graph.name)")
      var context = ForwardContext(training: false)
      let pass = try ForwardPass(
        graph: graph, inputs: ["input": randn([3, 1, 28, 28], seed: 2)], context: &context)
      #expect(pass.value("logits")?.shape == [3, 10])
    }
    #expect(LeNet.lenet5(seed: 1) == LeNet.lenet5(seed: 1))
    #expect(LeNet.lenet5(seed: 1) != LeNet.lenet5(seed: 2))
  }

  /// A few hundred steps on 2,000 MNIST images must learn (chance is 10 %).
  @Test func leNet300LearnsOnASubsetAndSurvivesONNXExport() throws {
    let train = try MNIST.load(directory: repositoryMNIST, split: .train, limit: 2000)
    let test = try MNIST.load(directory: repositoryMNIST, split: .test, limit: 1000)
    let trainer = try Trainer(
      graph: LeNet.lenet300100(seed: 3),
      optimizer: SGD(learningRate: 0.05, momentum: 0.9, nesterov: true),
      configuration: TrainingConfiguration(batchSize: 32, schedule: .cosine(minimumFactor: 0), seed: 3))
    let before = try trainer.evaluate(on: test)
    let reports = try trainer.train(on: train, epochs: 2)
    #expect(reports.count == 2 && reports[1].loss < reports[0].loss)
    let after = try trainer.evaluate(on: test)
    #expect(before.accuracy < 0.3 && after.accuracy > 0.85, "accuracy \(before.accuracy) → \(after.accuracy)")
    // The exported ONNX graph reads back and predicts the same.
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try Checkpoint.save(trainer.graph, to: dir + "/m.onnx")
    let reloaded = try ModelFile.load(dir + "/m.onnx")
    #expect(try Trainer.evaluate(graph: reloaded, on: test).predictions == after.predictions)
  }

  /// Values used twice (residual Add, Concat of two branches) accumulate their gradients; BN in
  /// training mode; GlobalAveragePool → Flatten → Gemm head.
  @Test func compositeGraphGradients() throws {
    var g = Graph(
      name: "composite",
      nodes: [
        Node(
          name: "c1", opType: "Conv", inputs: ["x", "w1"], outputs: ["a"],
          attributes: ["pads": .ints([1, 1, 1, 1])]),
        Node(name: "bn", opType: "BatchNormalization", inputs: ["a", "s", "b", "m", "v"], outputs: ["bn"]),
        Node(name: "r", opType: "Gelu", inputs: ["bn"], outputs: ["r"]),
        Node(name: "add", opType: "Add", inputs: ["r", "x"], outputs: ["res"]),
        Node(
          name: "cat", opType: "Concat", inputs: ["res", "a"], outputs: ["cat"], attributes: ["axis": .int(1)]
        ),
        Node(name: "gap", opType: "GlobalAveragePool", inputs: ["cat"], outputs: ["gap"]),
        Node(name: "flat", opType: "Flatten", inputs: ["gap"], outputs: ["flat"]),
        Node(
          name: "fc", opType: "Gemm", inputs: ["flat", "wf", "bf"], outputs: ["y0"],
          attributes: ["transB": .int(1)]),
      ],
      inputs: [ValueInfo(name: "x", dtype: .float32, shape: nil)],
      outputs: [ValueInfo(name: "y0", dtype: .float32, shape: nil)])
    g.setInitializer("w1", randn([2, 2, 3, 3], seed: 1, scale: 0.4))
    g.setInitializer("s", randn([2], seed: 2))
    g.setInitializer("b", randn([2], seed: 3))
    g.setInitializer("m", Tensor.zeros([2]))
    g.setInitializer("v", Tensor.filled([2], with: 1))
    g.setInitializer("wf", randn([3, 4], seed: 4))
    g.setInitializer("bf", randn([3], seed: 5))
    #expect(g.trainableParameterNames() == ["w1", "s", "b", "wf", "bf"])
    try GradientCheck(graph: g, inputs: ["x": randn([3, 2, 4, 4], seed: 6)], training: true).run()
  }

  /// `gradients(on:)` changes nothing; `step` updates the BatchNorm running statistics.
  @Test func batchNormRunningStatisticsOnlyChangeInSteps() throws {
    var g = Graph(
      name: "bn-net",
      nodes: [
        Node(name: "c", opType: "Conv", inputs: ["x", "w"], outputs: ["a"]),
        Node(name: "bn", opType: "BatchNormalization", inputs: ["a", "s", "b", "m", "v"], outputs: ["n"]),
        Node(name: "gap", opType: "GlobalAveragePool", inputs: ["n"], outputs: ["p"]),
        Node(name: "f", opType: "Flatten", inputs: ["p"], outputs: ["f"]),
        Node(
          name: "fc", opType: "Gemm", inputs: ["f", "wf"], outputs: ["y"], attributes: ["transB": .int(1)]),
      ],
      inputs: [ValueInfo(name: "x", dtype: .float32, shape: nil)],
      outputs: [ValueInfo(name: "y", dtype: .float32, shape: nil)])
    for (name, t) in [
      ("w", randn([2, 1, 3, 3], seed: 1)), ("s", Tensor.filled([2], with: 1)), ("b", Tensor.zeros([2])),
      ("m", Tensor.zeros([2])), ("v", Tensor.filled([2], with: 1)), ("wf", randn([3, 2], seed: 2)),
    ] { g.setInitializer(name, t) }
    let trainer = try Trainer(graph: g, optimizer: SGD(learningRate: 0.1))
    let batch = Batch(inputs: randn([4, 1, 5, 5], seed: 3, scale: 3), labels: [0, 1, 2, 1])
    _ = try trainer.gradients(on: batch)
    #expect(trainer.graph.initializers["m"] == Tensor.zeros([2]))
    try trainer.step(on: batch, learningRate: 0.1)
    #expect(trainer.graph.initializers["m"] != Tensor.zeros([2]))
    #expect(trainer.parameters.names == ["w", "s", "b", "wf"])
  }

  @Test func movementScoresAccumulateMinusGradientTimesWeight() throws {
    let fixture = try OptimizerFixture.load()
    let trainer = try Trainer(graph: fixture.graph(), optimizer: SGD(learningRate: 0.1))
    let scores = MovementScores()
    var expected: [Float] = []
    trainer.onStep = { report, parameters in
      scores.accumulate(report, parameters)
      expected = zip(report.gradients[0], parameters.values[0]).map { -$0 * $1 }
    }
    try trainer.step(on: fixture.batch, learningRate: 0.1)
    #expect(scores.scores[trainer.parameters.names[0]] == expected)
    #expect(scores.tensors(shapes: trainer.parameters)["fc1.weight"]?.shape == [4, 5])
  }
}

@Suite struct CheckpointTests {
  @Test func safetensorsRoundTripWithMasks() throws {
    var graph = LeNet.lenet300100(seed: 4)
    graph.masks["fc2.weight"] = Tensor(
      shape: [100, 300], floats: (0..<30_000).map { Float($0 % 3 == 0 ? 0 : 1) })
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try Checkpoint.save(graph, to: dir + "/c.safetensors")
    let restored = try Checkpoint.load(dir + "/c.safetensors", into: LeNet.lenet300100(seed: 99))
    // Masks are implied by zeros: the masked weight comes back zeroed where its mask is 0, no mask tensor
    // is stored, and the file reads back as a model without its architecture given.
    var masked = graph
    masked.initializers["fc2.weight"] = Tensor(
      shape: [100, 300],
      floats: zip(graph.initializers["fc2.weight"]!.floats, graph.masks["fc2.weight"]!.floats).map { $1 != 0 ? $0 : 0 })
    #expect(restored.initializers == masked.initializers)
    #expect(restored.masks == graph.masks)
    let file = try SafeTensorsFile(path: dir + "/c.safetensors")
    #expect(!file.names.contains { $0.hasSuffix(".mask") })
    #expect(try ModelFile.load(dir + "/c.safetensors").initializers == masked.initializers)
    #expect(throws: TrainingError.self) {
      try Checkpoint.load(dir + "/c.safetensors", into: LeNet.lenet5(seed: 1))
    }
    #expect(throws: TrainingError.self) { try Checkpoint.save(graph, to: dir + "/c.pt") }
  }
}
