import Foundation
import Testing

@testable import PruneKit

/// Training serves the Pruning protocols: masks survive fine-tuning, gradients feed Taylor.
@Suite struct PruningGlueTests {
  func smallMNIST() throws -> ImageDataset {
    try MNIST.load(directory: "../shared/data/mnist", split: .train, limit: 256)
  }

  @Test func maskedWeightsStayZeroThroughFineTuning() throws {
    var graph = LeNet.lenet300100(seed: 3)
    let builder = MaskBuilder(criterion: MagnitudeImportance(), scope: .global)
    try pruneUnstructured(&graph, builder: builder, sparsity: 0.9)
    let before = graph.initializers
    var recovery = TrainerRecovery(data: try smallMNIST(), epochs: 1, learningRate: 0.05, batchSize: 32)
    try recovery.recover(&graph, round: 0)
    var moved = 0
    for (name, mask) in graph.masks {
      let w = graph.initializers[name]!.floats
      let m = mask.floats
      for i in w.indices {
        if m[i] == 0 { #expect(w[i] == 0) } else if w[i] != before[name]!.floats[i] { moved += 1 }
      }
    }
    #expect(moved > 0)  // the survivors did train
    #expect(graph.masks.count == 3)
  }

  /// The demo's progress bars: one call per mini-batch, labelled with the phase and epoch.
  @Test func trainerRecoveryReportsEveryStep() throws {
    var graph = LeNet.lenet300100(seed: 3)
    var calls: [(String, Int, Int)] = []
    var recovery = TrainerRecovery(data: try smallMNIST(), epochs: 2, learningRate: 0.05, batchSize: 100)
    recovery.onStep = { label, done, total, _ in calls.append((label, done, total)) }
    try recovery.recover(&graph, round: 1)
    #expect(calls.count == 6)  // 256 images in batches of 100: 3 steps × 2 epochs
    #expect(calls.map(\.1) == [1, 2, 3, 1, 2, 3])
    #expect(calls.allSatisfy { $0.2 == 3 })
    #expect(calls.first?.0 == "retrain round 2 epoch 1/2" && calls.last?.0 == "retrain round 2 epoch 2/2")
  }

  @Test func taylorImportanceFromTrainerGradients() throws {
    let graph = LeNet.lenet300100(seed: 3)
    var source = TrainerGradientSource(data: try smallMNIST(), batches: 2, batchSize: 64)
    let taylor = try TaylorImportance(graph: graph, parameters: ["fc3.weight"], source: &source)
    let scores = try taylor.scores(for: "fc3.weight", in: graph)
    #expect(scores.shape == [10, 100])
    #expect(scores.floats.contains { $0 > 0 })
    var g = graph
    let summary = try PruneRecipe.prune(
      &g,
      options: {
        var o = PruneOptions(); o.method = .taylor; o.sparsity = 0.5; return o
      }(), gradients: source)
    #expect(summary.layers.count == 3)
    #expect(abs(g.sparsity(of: ["fc1.weight", "fc2.weight", "fc3.weight"]) - 0.5) < 0.01)
  }

  @Test func structuredPruningOfLeNet5Runs() throws {
    var graph = LeNet.lenet5(seed: 1)
    var options = PruneOptions()
    options.structure = .channels
    options.ratio = 0.5
    let summary = try PruneRecipe.prune(&graph, options: options)
    #expect(graph.initializers["conv1.weight"]?.shape == [10, 1, 5, 5])
    #expect(graph.initializers["conv2.weight"]?.shape == [25, 10, 5, 5])
    #expect(graph.initializers["fc1.weight"]?.shape == [250, 400])  // 25 channels × 4×4 per channel
    #expect(summary.macsAfter < summary.macsBefore / 3)
    let x = Tensor.normal([2, 1, 28, 28], seed: 1)
    let y = try Executor(graph: graph).run(["input": x])["logits"]
    #expect(y?.shape == [2, 10])
  }

  /// N:M on a whole CNN: the stem conv (1 input channel) cannot take 2:4 and stays dense, listed; every
  /// other weight gets exactly 2 of each 4. A pattern that fits no weight is an error, not a no-op.
  @Test func patternSkipsWeightsWhoseShapeDoesNotFit() throws {
    var graph = LeNet.lenet5(seed: 1)
    var options = PruneOptions()
    options.pattern = .nOfM(n: 2, m: 4)
    let summary = try PruneRecipe.prune(&graph, options: options)
    #expect(summary.skipped == ["conv1.weight"])
    #expect(graph.masks["conv1.weight"] == nil)
    for name in ["conv2.weight", "fc1.weight", "fc2.weight"] {
      let mask = try #require(graph.masks[name], "\(name) has no mask")
      #expect(mask.floats.reduce(0, +) == Float(mask.count / 2), "\(name)")
    }
    var untouched = LeNet.lenet5(seed: 1)
    options.pattern = .nOfM(n: 1, m: 3)
    #expect(throws: PruningError.self) { try PruneRecipe.prune(&untouched, options: options) }
  }

  /// A float16 model (weights, input and output) is pruned as the Float32 graph of its values.
  @Test func float16ModelIsPrunedInFloat32() throws {
    var graph = LeNet.lenet5(seed: 1)
    for (name, t) in graph.initializers where t.dtype == .float32 {
      graph.initializers[name] = t.converted(to: .float16)
    }
    for i in graph.inputs.indices { graph.inputs[i].dtype = .float16 }
    for i in graph.outputs.indices { graph.outputs[i].dtype = .float16 }
    var options = PruneOptions()
    options.sparsity = 0.5
    let summary = try PruneRecipe.prune(&graph, options: options)
    #expect(summary.widenedToFloat32)
    #expect(graph.initializers.values.allSatisfy { $0.dtype != .float16 })
    let mask = try #require(graph.masks["fc1.weight"])
    #expect(mask.floats.reduce(0, +) == Float(mask.count / 2))
    let y = try Executor(graph: graph).run(["input": Tensor.normal([2, 1, 28, 28], seed: 1)])["logits"]
    #expect(y?.shape == [2, 10])
  }

  /// Zhu & Gupta's gradual schedule: sparsity rises monotonically to the target at the last update of
  /// the ramp, pruned weights are exactly zero at the end, and the survivors trained.
  @Test func gradualPruningRampsToTheTargetWhileTraining() throws {
    var graph = LeNet.lenet300100(seed: 4)
    let test = try MNIST.load(directory: "../shared/data/mnist", split: .test, limit: 500)
    let recipe = GradualPruningRecipe(
      finalSparsity: 0.8, epochs: 3, rampEpochs: 2, updatesPerEpoch: 2, learningRate: 0.05, batchSize: 32,
      seed: 2)
    let result = try recipe.run(&graph, train: try smallMNIST(), test: test)
    // 256 images / 32 = 8 steps an epoch: Δt = 4, a ramp of 16 steps = updates after steps 4, 8, 12, 16.
    #expect(result.updates.map(\.step) == [4, 8, 12, 16])
    let targets = result.updates.map(\.sparsity)
    #expect(zip(targets, targets.dropFirst()).allSatisfy { $0 < $1 })
    #expect(targets.last == 0.8)
    #expect(abs(result.sparsity - 0.8) < 0.005)
    for (name, kept) in result.kept { #expect(abs(kept - 0.2) < 0.01, "\(name) kept \(kept)") }
    for (name, mask) in graph.masks {
      let w = graph.initializers[name]!.floats
      for (i, m) in mask.floats.enumerated() where m == 0 { #expect(w[i] == 0) }
    }
    #expect(result.errorAfter < result.errorBefore)
    var bad = recipe
    bad.rampEpochs = 4
    #expect(throws: PruningError.self) { try bad.run(&graph, train: try smallMNIST(), test: test) }
  }
}
