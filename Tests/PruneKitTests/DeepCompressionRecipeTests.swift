import Foundation
import Testing

@testable import PruneKit

/// A workbench without training: a fixed random MLP, retraining that changes nothing, seeded random
/// gradients, and "test error" = disagreement with the dense model's predictions on seeded inputs.
final class FakeWorkbench: DeepCompressionWorkbench {
  let dense: Graph
  let inputs = Tensor.normal([256, 20], seed: 3)
  var labels: [Int] = []
  var gradientCalls = 0
  var retrainRounds: [Int] = []

  init() throws {
    dense = Graph(
      name: "mlp",
      nodes: [
        Node(
          name: "fc1", opType: "Gemm", inputs: ["input", "fc1.weight", "fc1.bias"], outputs: ["h"],
          attributes: ["transB": .int(1)]),
        Node(name: "relu", opType: "Relu", inputs: ["h"], outputs: ["r"]),
        Node(
          name: "fc2", opType: "Gemm", inputs: ["r", "fc2.weight"], outputs: ["logits"],
          attributes: ["transB": .int(1)]),
      ],
      initializers: [
        "fc1.weight": Tensor.normal([64, 20], std: 0.3, seed: 1), "fc1.bias": Tensor.normal([64], seed: 2),
        "fc2.weight": Tensor.normal([10, 64], std: 0.3, seed: 4),
      ],
      initializerOrder: ["fc1.weight", "fc1.bias", "fc2.weight"],
      inputs: [ValueInfo(name: "input", dtype: .float32, shape: [.symbolic("N"), .fixed(20)])],
      outputs: [ValueInfo(name: "logits", dtype: .float32, shape: [.symbolic("N"), .fixed(10)])])
    labels = try predictions(dense)
  }

  func predictions(_ graph: Graph) throws -> [Int] {
    let z = try Executor(graph: graph).run(["input": inputs])["logits"]!.floats
    return (0..<256).map { row in (0..<10).max { z[row * 10 + $0] < z[row * 10 + $1] }! }
  }

  func denseModel() throws -> Graph { dense }
  func retrain(_ graph: inout Graph, round: Int) throws { retrainRounds.append(round) }
  func gradients(of graph: Graph, for names: [String]) throws -> [String: Tensor] {
    gradientCalls += 1
    var out = [String: Tensor]()
    for (i, name) in names.enumerated() {
      out[name] = Tensor.normal(
        graph.initializers[name]!.shape, std: 1e-3, seed: UInt64(gradientCalls * 10 + i))
    }
    return out
  }
  func testError(of graph: Graph) throws -> Double {
    let p = try predictions(graph)
    return Double(zip(p, labels).filter { $0 != $1 }.count) / Double(labels.count)
  }
  func validationError(of graph: Graph) throws -> Double { try testError(of: graph) }
}

@Suite struct DeepCompressionRecipeTests {
  @Test func everyStageWritesARealFileAndTheFinalFileDecodesBitExact() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dc-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let bench = try FakeWorkbench()
    let recipe = DeepCompressionRecipe(
      name: "mlp", keptFractions: ["fc1.weight": 0.1, "fc2.weight": 0.3], pruningRounds: 2,
      compression: CompressionOptions(fcBits: 4), fineTuning: CentroidFineTuning(steps: 5),
      outputDirectory: dir)
    var lines = [String]()
    let result = try recipe.run(bench) { lines.append($0) }
    #expect(bench.retrainRounds == [0, 1])
    #expect(bench.gradientCalls == 5)
    #expect(lines.contains { $0.hasPrefix("[6/6]") })
    #expect(result.bitExact)
    for (stage, bytes) in [
      ("dense", result.denseBytes), ("pruned", result.prunedBytes), ("quantized", result.quantizedBytes),
    ] {
      #expect(try fileSize("\(dir)/mlp-\(stage).pkz") == bytes)
    }
    #expect(try fileSize(result.path) == result.huffmanBytes)
    #expect(result.report.totalBytes == result.huffmanBytes)
    #expect(result.denseBytes > result.prunedBytes)
    #expect(result.prunedBytes > result.quantizedBytes)
    #expect(result.quantizedBytes >= result.huffmanBytes)
    #expect(abs(result.kept["fc1.weight"]! - 0.1) < 0.01 && abs(result.kept["fc2.weight"]! - 0.3) < 0.01)
    let decoded = try Graph(pkz: result.path)
    #expect(try bench.testError(of: decoded) == result.finalError)
    #expect(result.denseError == 0)
    let table = result.table(published: DeepCompressionResult.published["lenet300"]).text()
    #expect(table.contains("Han et al. 2016") && table.contains("PruneKit (files on disk)"))
  }

  /// The demo prunes with `prunekit prune --schedule iterative`'s schedule: the same masks round by
  /// round as `IterativePruningRecipe.schedule` run directly (the fake's retraining changes nothing).
  @Test func theRecipePrunesWithThePruneCommandsSchedule() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dc-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let kept = ["fc1.weight": 0.07, "fc2.weight": 0.25]
    let bench = try FakeWorkbench()
    let recipe = DeepCompressionRecipe(
      name: "mlp", keptFractions: kept, pruningRounds: 3, fineTuning: CentroidFineTuning(steps: 1),
      outputDirectory: dir)
    let result = try recipe.run(bench)
    struct Unchanged: Recovery { mutating func recover(_ graph: inout Graph, round: Int) throws {} }
    var graph = bench.dense
    var recovery = Unchanged()
    let direct = try IterativePruningRecipe.schedule(kept: kept, rounds: 3).run(&graph, recovery: &recovery)
    #expect(result.rounds.map(\.kept) == direct.map(\.kept))
    #expect(result.rounds.count == 3 && result.rounds.allSatisfy { $0.quality != nil })
    // The geometric path: after round 1 of 3, fc1 keeps 0.07^(1/3) ≈ 41%.
    #expect(abs(result.rounds[0].kept["fc1.weight"]! - pow(0.07, 1.0 / 3)) < 0.01)
    let decoded = try Graph(pkz: result.path)
    for (name, mask) in graph.masks {
      let zeros = zip(decoded.initializers[name]!.floats, mask.floats).filter { $0 != 0 && $1 == 0 }
      #expect(zeros.isEmpty, "\(name): weights pruned by the schedule are non-zero in the .pkz")
    }
  }

  @Test func aLayerMissingFromTheModelIsAClearError() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dc-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let recipe = DeepCompressionRecipe(name: "x", keptFractions: ["conv9.weight": 0.5], outputDirectory: dir)
    #expect(throws: PruningError.self) { try recipe.run(try FakeWorkbench()) }
  }
}

@Suite struct LeNetWorkbenchTests {
  /// The demo's defaults name real layers of each model; LeNet-300-100's are the prune command's.
  @Test(arguments: [LeNetWorkbench.Model.lenet300, .lenet5])
  func theDemoDefaultsNameTheModelsLayers(model: LeNetWorkbench.Model) throws {
    let graph = model.graph(seed: 1)
    let kept = model.defaultKeptFractions
    #expect(kept.count == (model == .lenet300 ? 3 : 4))
    for (name, fraction) in kept {
      #expect(graph.initializers[name] != nil, "\(name)")
      #expect(fraction > 0 && fraction <= (model.paperKeptFractions[name] ?? 0), "\(name)")
    }
    if model == .lenet300 { #expect(kept == IterativePruningRecipe.defaultKept("lenet300")) }
    #expect((4...8).contains(model.defaultFullyConnectedBits))
  }

  /// The demo's path end to end on a slice of the repository's MNIST copy: a few hundred images, one
  /// epoch, one pruning round, three fine-tuning steps. Checks wiring and honesty, not accuracy.
  @Test(arguments: [LeNetWorkbench.Model.lenet300, .lenet5])
  func theDemoPipelineRunsOnASliceOfMNIST(model: LeNetWorkbench.Model) throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dcw-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let bench = try LeNetWorkbench(
      model: model, settings: .init(epochs: 1, retrainEpochs: 1, trainLimit: 256, testLimit: 200),
      dataDirectory: "Data/mnist", cacheDirectory: "\(dir)/cache")
    let recipe = DeepCompressionRecipe(
      name: model.rawValue, keptFractions: model.paperKeptFractions, pruningRounds: 1,
      fineTuning: CentroidFineTuning(steps: 3), outputDirectory: dir)
    let result = try recipe.run(bench)
    #expect(result.bitExact)
    #expect(try fileSize(result.path) == result.huffmanBytes)
    #expect(result.ratio > 10)
    for (name, target) in model.paperKeptFractions {
      #expect(abs(result.kept[name]! - target) < 0.05, "\(name)")
    }
    #expect(result.finalError < 0.9)
    // The dense model is cached and reused: same weights on the second call.
    let path = try #require(bench.cachePath)
    #expect(FileManager.default.fileExists(atPath: path))
    #expect(try bench.denseModel().initializers == (try bench.denseModel()).initializers)
  }
}
