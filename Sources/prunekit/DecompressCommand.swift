import ArgumentParser
import PruneKit

/// `prunekit decompress model.pkz -o model.onnx`: the quantized weights back in a standard format.
struct DecompressCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "decompress",
    abstract: "Decode a .pkz file back to ONNX (or another format prunekit writes).",
    discussion: "Every checksum is verified first; the output holds the .pkz's quantized weights bit for bit."
  )

  @Argument(help: "The .pkz file.")
  var model: String

  @Option(name: .shortAndLong, help: "The output model (.onnx, …), written atomically.")
  var output: String

  func validate() throws {
    try OptionCheck.output(output, inputs: [model], extensions: ModelFile.knownExtensions)
  }

  func run() throws {
    let model = try decompressModel(at: model, to: output)
    let params = model.graph.orderedInitializers.reduce(0) { $0 + $1.tensor.count }
    print("decoded \(model.layers.count) compressed layers, \(params) parameters; wrote \(output)")
  }
}
