import Foundation
import PruneKit
import Testing

/// Opset < 7 models through the CLI: `run` matches the golden outputs, `prune` (unstructured and
/// structured) writes an opset-7 model that runs (fixtures from scripts/make_onnx_coverage.py).
@Suite struct ONNXCoverageCLITests {
  static let coverage = CLI.packageRoot + "/Tests/Fixtures/onnx-coverage"

  @Test func opsetSixModelRunsExportsAndPrunes() throws {
    let w = try CLI.temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: w) }
    for name in ["opset6_cnn.onnx", "opset6_cnn.io.safetensors"] {
      try FileManager.default.copyItem(atPath: "\(Self.coverage)/\(name)", toPath: "\(w)/\(name)")
    }
    let run = try CLI.run(
      ["run", "opset6_cnn.onnx", "--input", "opset6_cnn.io.safetensors", "-o", "out.safetensors"], in: w)
    #expect(run.status == 0, "\(run.output)")
    let produced = try SafeTensorsFile(path: "\(w)/out.safetensors").tensor(named: "out").asFloats()
    let golden = try SafeTensorsFile(path: "\(w)/opset6_cnn.io.safetensors").tensor(named: "out").asFloats()
    #expect(produced.count == golden.count)
    #expect(zip(produced, golden).allSatisfy { Swift.abs($0 - $1) <= 1e-5 }, "\(produced) vs \(golden)")
    for (flags, output) in [(["--sparsity", "0.5"], "u.onnx"), (["--structured", "channels", "--ratio", "0.5"], "s.onnx")] {
      let prune = try CLI.run(["prune", "opset6_cnn.onnx"] + flags + ["-o", output], in: w)
      #expect(prune.status == 0, "\(flags): \(prune.output)")
      let graph = try ModelFile.load("\(w)/\(output)")
      #expect(graph.opsetVersion == 7, "\(flags): written at opset \(graph.opsetVersion)")
      let rerun = try CLI.run(["run", output, "--input", "opset6_cnn.io.safetensors"], in: w)
      #expect(rerun.status == 0, "\(flags): \(rerun.output)")
    }
  }

  /// Structured channel pruning of a 3-D CNN: the Conv3d → Relu → MaxPool3d → Conv3d coupling
  /// removes output channels of the first conv with the matching input channels of the second.
  @Test func threeDConvolutionPrunesStructurally() throws {
    let w = try CLI.temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: w) }
    for name in ["cnn3d.onnx", "cnn3d.io.safetensors"] {
      try FileManager.default.copyItem(atPath: "\(Self.coverage)/\(name)", toPath: "\(w)/\(name)")
    }
    let prune = try CLI.run(["prune", "cnn3d.onnx", "--structured", "channels", "--ratio", "0.5", "-o", "p.onnx"], in: w)
    #expect(prune.status == 0, "\(prune.output)")
    let graph = try ModelFile.load("\(w)/p.onnx")
    let (w1, w2) = (try #require(graph.initializers["w1"]), try #require(graph.initializers["w2"]))
    #expect(w1.shape[0] < 8 && w1.shape[0] == w2.shape[1], "\(w1.shape) \(w2.shape)")
    #expect(w1.rank == 5)
    let rerun = try CLI.run(["run", "p.onnx", "--input", "cnn3d.io.safetensors", "-o", "y.safetensors"], in: w)
    #expect(rerun.status == 0, "\(rerun.output)")
  }

  /// Every runnable coverage fixture through `prunekit run` (its shape inference and kernel
  /// selection included: sequences once failed there while the executor ran them).
  @Test func everyFixtureRunsThroughTheCLI() throws {
    let names = try FileManager.default.contentsOfDirectory(atPath: Self.coverage)
      .filter { $0.hasSuffix(".onnx") && !$0.contains("refused") }.sorted()
    #expect(names.count >= 20)
    for name in names {
      let base = String(name.dropLast(5))
      let r = try CLI.run(["run", "\(Self.coverage)/\(name)", "--input", "\(Self.coverage)/\(base).io.safetensors"])
      #expect(r.status == 0, "\(name): \(r.output)")
    }
  }

  @Test func unmappableOldOpIsAClearError() throws {
    let r = try CLI.run(["inspect", "\(Self.coverage)/opset5_tile_refused.onnx"])
    #expect(r.status != 0)
    #expect(r.output.contains("node 'Tile_0' (Tile, opset 5) cannot be upgraded to opset 7"), "\(r.output)")
    #expect(!r.output.contains("Fatal error"), "\(r.output)")
  }
}
