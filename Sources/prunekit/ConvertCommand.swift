import ArgumentParser
import Foundation
import PruneKit

/// `prunekit convert IN -o OUT`: reads a model and writes it in the format OUT's extension names
/// (see `ModelFile`), e.g. to normalise an ONNX file or to move weights to external data.
struct ConvertCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "convert",
    abstract: "Read a model and write it in the format the output's extension names.",
    discussion: "Known extensions: \(ModelFile.knownExtensions.map { ".\($0)" }.joined(separator: ", ")).")

  @Argument(help: "The model to read.")
  var input: String

  @Option(name: .shortAndLong, help: "Where to write the model (written atomically).")
  var output: String

  @Option(help: "ONNX only: write initializers of at least 1 KiB to this file beside the output.")
  var externalData: String?

  func validate() throws {
    try OptionCheck.output(output, inputs: [input], extensions: ModelFile.knownExtensions)
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
    do {
      let (graph, warnings) = try ModelFile.loadForCopying(input)
      for warning in warnings { note("warning: \(warning)") }
      if let externalData {
        try ONNXExporter.save(graph, to: output, options: .init(externalDataFile: externalData))
      } else {
        try ModelFile.save(graph, to: output)
      }
      let parameters = graph.initializers.values.reduce(0) { $0 + $1.count }
      print(
        "\(output): \(graph.nodes.count) nodes, \(graph.initializers.count) initializers, "
          + "\(parameters) parameters, opset \(graph.opsetVersion)")
    } catch let error as ModelGraphError {
      FileHandle.standardError.write(Data("prunekit convert: \(error)\n".utf8))
      throw ExitCode(1)
    }
  }
}
