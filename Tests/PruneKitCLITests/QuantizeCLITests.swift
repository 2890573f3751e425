import Foundation
import PruneKit
import Testing

/// `prunekit quantize` end to end: the written ONNX runs (int8 kernels) near the Float32 model, static
/// calibration reports accuracy, and bad options and names are refused with the name in the message.
@Suite(.serialized) struct QuantizeCLITests {
  @Test func quantizedMLPRunsNearTheFloat32Model() throws {
    let folder = try CLI.temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let model = folder + "/mlp-int8.onnx"
    let quantize = try CLI.run(["quantize", CLI.fixtures + "/mlp.onnx", "-o", model])
    #expect(quantize.status == 0, "\(quantize.output)")
    #expect(quantize.stdout.contains("3 of 3 linear layers int8"), "\(quantize.output)")
    let x = Tensor.uniform([6, 1, 28, 28], low: -0.5, high: 2.8, seed: 3)
    try SafeTensorsWriter.write(["input": x], to: folder + "/in.safetensors")
    let run = try CLI.run([
      "run", model, "--input", folder + "/in.safetensors", "-o", folder + "/out.safetensors",
    ])
    #expect(run.status == 0, "\(run.output)")
    let dense = try ModelFile.load(CLI.fixtures + "/mlp.onnx")
    let expected = try Executor(graph: dense).run(["input": x])[dense.outputs[0].name]!.floats
    let got = try SafeTensorsFile(path: folder + "/out.safetensors").tensor(named: dense.outputs[0].name)
      .floats
    let scale = expected.map(abs).max()!
    let worst = zip(got, expected).map { abs($0 - $1) }.max()!
    #expect(worst <= 0.03 * scale && worst > 0, "max |int8 − fp32| = \(worst) of \(scale)")
  }

  @Test func staticCalibrationPrintsAccuracyOfBothModels() throws {
    let folder = try CLI.temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let result = try CLI.run([
      "quantize", CLI.fixtures + "/mlp.onnx", "--calib", CLI.packageRoot + "/Data/mnist", "--calib-images",
      "200",
      "--calibration", "minmax", "-o", folder + "/q.onnx",
    ])
    #expect(result.status == 0, "\(result.output)")
    #expect(result.stdout.contains("static minmax activations"), "\(result.output)")
    #expect(result.stdout.contains("MNIST test accuracy (10000 images): Float32"), "\(result.output)")
  }

  @Test func badOptionsAndNamesAreRefused() throws {
    let folder = try CLI.temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let cases: [([String], String)] = [
      (["--keep-float", "nosuchlayer"], "nosuchlayer"),
      (["--calibration", "mean"], "--calibration"),
      (["--percentile", "20"], "--percentile"),
      (["--calib", folder + "/missing"], "missing"),
      (["--calib", CLI.packageRoot + "/Data/mnist", "--calibration", "mean"], "minmax or percentile"),
      (["--calib", CLI.packageRoot + "/Data/mnist", "--calibration", "minmax", "--percentile", "99"], "--percentile"),
      (["--calib-images", "10"], "--calib"),
    ]
    for (extra, needle) in cases {
      let r = try CLI.run(["quantize", CLI.fixtures + "/mlp.onnx", "-o", folder + "/q.onnx"] + extra)
      #expect(r.status != 0, "\(extra)")
      #expect(r.output.contains(needle), "\(extra): \(r.output)")
      #expect(!FileManager.default.fileExists(atPath: folder + "/q.onnx"), "\(extra) left an output")
    }
    let wrongExtension = try CLI.run(["quantize", CLI.fixtures + "/mlp.onnx", "-o", folder + "/q.pkz"])
    #expect(wrongExtension.status != 0 && wrongExtension.output.contains(".onnx"), "\(wrongExtension.output)")
  }
}
