import ArgumentParser
import PruneKit

/// `prunekit decompress model.pkz -o model.onnx`: the quantized weights back in a standard format.
struct DecompressCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "decompress",
    abstract: "Decode a .pkz file back to ONNX (or another format prunekit writes).",
    discussion: """
      Every checksum is verified first; the output holds the .pkz's quantized weights bit for bit.

      Examples:
        prunekit decompress model.pkz -o model.onnx
        prunekit decompress model.pkz -o model.safetensors --json
      """)

  @Argument(help: "The .pkz file.")
  var model: String

  @Option(name: .shortAndLong, help: "The output model (.onnx, …), written atomically.")
  var output: String

  @OptionGroup var format: JSONOption

  @OptionGroup var verbosity: VerbosityOptions

  func validate() throws {
    try OptionCheck.output(output, inputs: [model], extensions: ModelFile.knownExtensions)
  }

  func run() throws {
    let model = try decompressModel(at: model, to: output)
    let params = model.graph.orderedInitializers.reduce(0) { $0 + $1.tensor.count }
    if format.json {
      struct Output: Encodable {
        let output: String
        let compressedLayers: Int
        let parameters: Int
      }
      return try JSONOutput.print(
        Output(output: output, compressedLayers: model.layers.count, parameters: params), command: "decompress")
    }
    print("decoded \(model.layers.count) compressed layers, \(params) parameters; wrote \(output)")
  }
}
