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
      Weights: symmetric int8, one scale per output channel (--no-per-channel: one per tensor).
      Activations: one scale per row (token), computed at run time. --keep-float leaves the named
      nodes (or weights) in Float32. The output is ONNX; `prunekit run/bench` run it on int8 kernels.
      """)

  @Argument(help: "The model to quantize (ONNX, safetensors+config).")
  var model: String

  @Option(name: .shortAndLong, help: "Where to write the quantized model (.onnx, written atomically).")
  var output: String

  @Flag(inversion: .prefixedNo, help: "One weight scale per output channel (default) or one per tensor.")
  var perChannel = true

  @Option(parsing: .upToNextOption, help: "Node or weight names to keep in Float32.")
  var keepFloat: [String] = []

  @Flag(help: "Print the per-layer report as JSON.")
  var json = false

  func validate() throws {
    try OptionCheck.output(output, inputs: [model], extensions: ["onnx"])
  }

  func run() throws {
    let (graph, warnings) = try ModelFile.loadForCopying(model)
    for warning in warnings { note("warning: \(warning)") }
    let linear = Set(graph.nodes.filter { ["MatMul", "Gemm"].contains($0.opType) }.flatMap { [$0.name] + $0.inputs })
    if let unknown = keepFloat.first(where: { !linear.contains($0) }) {
      throw ValidationError("--keep-float \(unknown): no MatMul/Gemm node or weight of that name in \(model)")
    }
    let (quantized, reports) = try quantizeForInt8Execution(
      graph, options: Int8QuantizationOptions(perChannel: perChannel, keepFloat: Set(keepFloat)))
    guard reports.contains(where: { $0.activations != "float" }) else {
      throw ValidationError("\(model): no MatMul/Gemm layer with a 2-D Float32 weight to quantize")
    }
    try ModelFile.save(quantized, to: output)
    if json {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
      print(String(decoding: try encoder.encode(reports), as: UTF8.self))
      return
    }
    let int8 = reports.filter { $0.activations != "float" }
    let worst = int8.map(\.maxWeightError).max() ?? 0
    print(
      "\(output): \(int8.count) of \(reports.count) linear layers int8 (\(perChannel ? "per-channel" : "per-tensor") weights, per-row dynamic activations); largest weight rounding error \(worst)"
    )
    for r in reports where r.activations == "float" { print("  kept Float32: \(r.node) (\(r.weight))") }
  }
}
