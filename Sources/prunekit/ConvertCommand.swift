import ArgumentParser
import Foundation
import PruneKit

/// `prunekit convert IN -o OUT`: reads a model and writes it in the format OUT's extension names
/// (see `ModelFile`), e.g. to normalise an ONNX file or to move weights to external data.
struct ConvertCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "convert",
    abstract: "Read a model and write it in the format the output's extension names.",
    usage: "prunekit convert <input> -o <output> [--external-data <name>] [<options>]",
    discussion: """
      Reads ONNX, safetensors (with the graph PruneKit stored in it, or a BERT config.json beside it), \
      a Hugging Face folder and .pkz (decoded); writes \
      \(ModelFile.knownExtensions.map { ".\($0)" }.joined(separator: " or ")). A .safetensors output \
      carries the graph in its metadata, so any model reads back; a .pkz is written by compress.

      Examples:
        prunekit convert model.onnx -o model.safetensors
        prunekit convert demo-output/lenet300.pkz -o lenet300-decoded.onnx
        prunekit convert big.onnx -o big-ext.onnx --external-data big-ext.weights
      """)

  @Argument(help: "The model to read.")
  var input: String

  @Option(name: .shortAndLong, help: "Where to write the model (written atomically).")
  var output: String

  @Option(help: "ONNX only: write initializers of at least 1 KiB to this file beside the output.")
  var externalData: String?

  @OptionGroup var format: JSONOption

  @OptionGroup var verbosity: VerbosityOptions

  /// What `--json` prints.
  struct Output: Encodable {
    let output: String
    let nodes: Int
    let initializers: Int
    let parameters: Int
    let opset: Int
  }

  func validate() throws {
    try OptionCheck.output(
      output, inputs: [input], extensions: ModelFile.knownExtensions,
      hint: " (convert writes models; use `prunekit compress` for .pkz)")
    if let externalData {
      guard output.lowercased().hasSuffix(".onnx") else {
        throw ValidationError("--external-data applies to .onnx outputs only")
      }
      let beside = (output as NSString).deletingLastPathComponent
      let path = (beside.isEmpty ? "." : beside) + "/" + externalData
      try OptionCheck.output(path, "--external-data", inputs: [input])
    }
  }

  func run() throws {
    let (graph, warnings) = try ModelFile.loadForCopying(input)
    for warning in warnings { note("warning: \(warning)") }
    if let externalData {
      try ONNXExporter.save(graph, to: output, options: .init(externalDataFile: externalData))
    } else {
      try ModelFile.save(graph, to: output)
    }
    let result = Output(
      output: output, nodes: graph.nodes.count, initializers: graph.initializers.count,
      parameters: graph.initializers.values.reduce(0) { $0 + $1.count }, opset: graph.opsetVersion)
    if format.json { return try JSONOutput.print(result, command: "convert") }
    print(
      "\(output): \(result.nodes) nodes, \(result.initializers) initializers, "
        + "\(result.parameters) parameters, opset \(result.opset)")
  }
}
