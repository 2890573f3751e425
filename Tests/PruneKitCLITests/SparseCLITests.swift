import Foundation
import PruneKit
import Testing

/// Sparse execution end to end: a model pruned by `prunekit prune` runs through the sparse kernels in
/// `run`, `bench` and `inspect --kernels`, with the dense answer.
@Suite(.serialized) struct SparseCLITests {
  /// mlp.onnx (784 → 300 → 100 → 10, Gemm + Relu) magnitude-pruned to 90 % in a fresh folder.
  static func prunedMLP() throws -> (folder: String, model: String) {
    let folder = try CLI.temporaryFolder()
    let model = folder + "/mlp90.onnx"
    let prune = try CLI.run(["prune", CLI.fixtures + "/mlp.onnx", "--sparsity", "0.9", "-o", model])
    #expect(prune.status == 0, "\(prune.output)")
    return (folder, model)
  }

  @Test func runOfAPrunedModelEqualsTheUnfusedDenseExecutor() throws {
    let (folder, model) = try Self.prunedMLP()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    for batch in [1, 5, 40] {
      let x = Tensor.uniform([batch, 1, 28, 28], low: -0.5, high: 2.8, seed: UInt64(batch))
      try SafeTensorsWriter.write(["input": x], to: folder + "/in.safetensors")
      let run = try CLI.run([
        "run", model, "--input", folder + "/in.safetensors", "-o", folder + "/out.safetensors",
      ])
      #expect(run.status == 0, "\(run.output)")
      let graph = try ModelFile.load(model)
      let expected = try Executor(graph: graph, optimize: false).run(["input": x])[graph.outputs[0].name]!
      let got = try SafeTensorsFile(path: folder + "/out.safetensors").tensor(named: graph.outputs[0].name)
      #expect(got.shape == expected.shape)
      let worst = zip(got.floats, expected.floats).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? .infinity
      #expect(worst <= 1e-5, "batch \(batch): \(worst)")
    }
  }

  @Test func benchComparesChosenAndDenseKernelsOnTheSameInputs() throws {
    let (folder, model) = try Self.prunedMLP()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let bench = try CLI.run([
      "bench", model, "--batch", "1,8", "--threads", "1", "--no-peer", "--min-runs", "3", "--min-seconds",
      "0",
      "--json",
    ])
    #expect(bench.status == 0, "\(bench.output)")
    struct Row: Decodable {
      let batch: Int
      let engine: String
      let p50Ms: Double
      let weightBytes: Int?
      let maxAbsDifference: Double?
    }
    struct Envelope: Decodable {
      let schema: String
      let result: [Row]
    }
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    let envelope = try decoder.decode(Envelope.self, from: Data(bench.stdout.utf8))
    #expect(envelope.schema == "prunekit.bench.model")
    let rows = envelope.result
    #expect(rows.count == 4)
    for batch in [1, 8] {
      let chosen = try #require(rows.first { $0.batch == batch && $0.engine == "PruneKit" })
      let dense = try #require(rows.first { $0.batch == batch && $0.engine == "PruneKit dense" })
      #expect(chosen.p50Ms > 0 && dense.p50Ms > 0)
      #expect((chosen.maxAbsDifference ?? 1) <= 1e-4)
      // 90 % zeros: the sparse layouts hold far fewer bytes than the dense weights.
      #expect((chosen.weightBytes ?? .max) < (dense.weightBytes ?? 0) / 2)
    }
  }

  @Test func inspectKernelsNamesTheChoicePerLayer() throws {
    let (folder, model) = try Self.prunedMLP()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let inspect = try CLI.run(["inspect", model, "--kernels", "--batch", "2"])
    #expect(inspect.status == 0, "\(inspect.output)")
    let lines = inspect.stdout.split(separator: "\n").filter { $0.contains("zeros →") }
    #expect(lines.count == 3, "\(inspect.stdout)")
    #expect(
      lines.allSatisfy { line in ["dense", "csr", "csc", "blocked"].contains { line.contains("→ \($0)") } })
  }

  @Test func benchRejectsBadOptionsBeforeLoading() throws {
    let bad = try CLI.run(["bench", "missing.onnx", "--batch", "0"])
    #expect(bad.status != 0)
    #expect(bad.output.contains("--batch"))
    let seconds = try CLI.run(["bench", "missing.onnx", "--min-seconds", "nan"])
    #expect(seconds.status != 0)
    #expect(seconds.output.contains("--min-seconds"))
  }
}
