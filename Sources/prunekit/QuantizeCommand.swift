import ArgumentParser
import Foundation
import PruneKit

/// `prunekit quantize MODEL -o OUT.onnx`: int8 post-training quantization of the linear layers, written
/// as standard ONNX (MatMulInteger with per-row dynamic activation scales) that onnxruntime runs and
/// PruneKit runs on its int8 kernels (docs/quantized-execution.md).
struct QuantizeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "quantize",
    abstract: "Quantize a model's linear layers to int8 (standard ONNX that onnxruntime runs too).",
    discussion: """
      Weights: symmetric int8, one scale per output channel (--no-per-channel: one per tensor). \
      Activations: one scale per row (token), computed at run time; or, with --calib DIR (an \
      MNIST-format folder, for image models), one static scale per layer from --calib-images training \
      images (--calibration minmax or percentile), after which the MNIST test accuracy of the Float32 \
      and the int8 model is printed. --keep-float leaves the named nodes (or weights) in Float32. \
      The output is ONNX; `prunekit run` and `prunekit bench` run it on int8 kernels.

      Examples:
        prunekit quantize model.onnx -o model-int8.onnx
        prunekit quantize lenet300.onnx --calib Data/mnist -o q.onnx
        prunekit quantize model.onnx --keep-float fc3 -o q.onnx --json
      """)

  @Argument(help: "The model to quantize (ONNX, safetensors+config).")
  var model: String

  @Option(name: .shortAndLong, help: "Where to write the quantized model (.onnx, written atomically).")
  var output: String

  @Flag(inversion: .prefixedNo, help: "One weight scale per output channel (default) or one per tensor.")
  var perChannel = true

  @Option(parsing: .upToNextOption, help: "Node or weight names to keep in Float32.")
  var keepFloat: [String] = []

  @Option(help: "MNIST-format folder: static activation scales from its training images.")
  var calib: String?

  @Option(help: "With --calib: training images used for calibration (default 1000).")
  var calibImages: Int?

  @Option(name: .customLong("calibration"), help: "With --calib: static scale from the largest |activation| (minmax) or a percentile (default).")
  var calibrationOption: String?

  @Option(name: .customLong("percentile"), help: "With --calibration percentile: the percentile of |activation| (default 99.99).")
  var percentileOption: Double?

  @OptionGroup var format: JSONOption
  var json: Bool { format.json }
  @OptionGroup var verbosity: VerbosityOptions
  @OptionGroup var threads: ThreadsOption

  var calibImagesCount: Int { calibImages ?? 1000 }
  var calibration: String { calibrationOption ?? "percentile" }
  var percentile: Double { percentileOption ?? 99.99 }

  func validate() throws {
    try OptionCheck.output(output, inputs: [model], extensions: ["onnx"])
    try OptionCheck.int(calibImages, "--calib-images", in: 1...60_000)
    try OptionCheck.number(percentileOption, "--percentile", in: 50...100)
    if calib == nil {
      try OptionCheck.inapplicable(
        [
          "--calib-images": calibImages != nil, "--calibration": calibrationOption != nil,
          "--percentile": percentileOption != nil,
        ], because: "they apply with --calib (static activation scales)")
    }
    if calibration == "minmax" && percentileOption != nil {
      throw ValidationError("--percentile: applies with --calibration percentile, not minmax")
    }
    guard ActivationCalibration(rawValue: calibration) != nil else {
      throw ValidationError("--calibration \(calibration): expected minmax or percentile")
    }
  }

  func run() throws {
    let (graph, warnings) = try ModelFile.loadForCopying(model)
    for warning in warnings { note("warning: \(warning)") }
    let linear = Set(
      graph.nodes.filter { ["MatMul", "Gemm"].contains($0.opType) }.flatMap { [$0.name] + $0.inputs })
    if let unknown = keepFloat.first(where: { !linear.contains($0) }) {
      throw ValidationError("--keep-float \(unknown): no MatMul/Gemm node or weight of that name in \(model)")
    }
    var scales: [String: Float] = [:]
    var test: ImageDataset? = nil
    if let calib {
      guard let input = graph.inputs.first(where: { graph.initializers[$0.name] == nil }),
        graph.inputs.filter({ graph.initializers[$0.name] == nil }).count == 1,
        [784, 28 * 28].contains((input.shape ?? []).dropFirst().compactMap(\.value).reduce(1, *))
      else {
        throw ValidationError(
          "--calib \(calib): MNIST images calibrate models with one [N, 784] or [N, 1, 28, 28] input")
      }
      let train = try MNIST.load(directory: calib, split: .train, limit: calibImagesCount)
      let batches = stride(from: 0, to: train.count, by: 500).map { start in
        [input.name: imageBatch(train, start: start, count: min(500, train.count - start), for: input)]
      }
      scales = try calibrateActivationScales(
        graph, batches: batches, method: ActivationCalibration(rawValue: calibration)!,
        percentile: percentile,
        keepFloat: Set(keepFloat))
      test = try MNIST.load(directory: calib, split: .test)
    }
    let (quantized, reports) = try quantizeForInt8Execution(
      graph,
      options: Int8QuantizationOptions(
        perChannel: perChannel, keepFloat: Set(keepFloat), activationScales: scales))
    guard reports.contains(where: { $0.activations != "float" }) else {
      throw ValidationError("\(model): no MatMul/Gemm layer with a 2-D Float32 weight to quantize")
    }
    try ModelFile.save(quantized, to: output)
    if json { return try JSONOutput.print(reports, command: "quantize") }
    let int8 = reports.filter { $0.activations != "float" }
    let worst = int8.map(\.maxWeightError).max() ?? 0
    let activations = calib == nil ? "per-row dynamic activations" : "static \(calibration) activations"
    print(
      "\(output): \(int8.count) of \(reports.count) linear layers int8 (\(perChannel ? "per-channel" : "per-tensor") weights, \(activations)); largest weight rounding error \(worst)"
    )
    if let test {
      let (a, b) = (try imageAccuracy(graph, on: test), try imageAccuracy(quantized, on: test))
      print(
        String(
          format: "MNIST test accuracy (%d images): Float32 %.2f %%, int8 %.2f %% (%+.2f points)", test.count,
          a * 100,
          b * 100, (b - a) * 100))
    }
    for r in reports where r.activations == "float" { print("  kept Float32: \(r.node) (\(r.weight))") }
  }
}
