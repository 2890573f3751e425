import ArgumentParser
import Foundation
import PruneKit

/// `prunekit run MODEL --input IN.safetensors -o OUT.safetensors`: runs a model on tensors from a
/// safetensors file and writes its outputs (under the model's output names) atomically.
struct RunCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run",
    abstract: "Run a model on the tensors of a safetensors file.",
    discussion: """
      Input tensors are matched to the model's inputs by name. A model with a single input also
      takes a file holding one tensor, or the tensor named `input`. Outputs are written under the
      model's output names, to a temporary file renamed into place.
      """)

  @Argument(
    help: "Model file (\((ModelFile.knownExtensions + ["pkz"]).map { ".\($0)" }.joined(separator: ", "))).")
  var model: String

  @Option(name: .long, help: "safetensors file with the input tensors.")
  var input: String

  @Option(name: [.short, .customLong("output")], help: "safetensors file to write the outputs to.")
  var output: String

  func validate() throws {
    try OptionCheck.output(output, inputs: [model, input], extensions: ["safetensors"])
  }

  func run() throws {
    let (graph, codebooks) = try ModelFile.loadWithCodebooks(model)
    let file = try SafeTensorsFile(path: input)
    let required = graph.inputs.filter { graph.initializers[$0.name] == nil }
    let feeds = try Self.feeds(for: required, from: file, path: input)
    // Sparse layers get the kernel measured fastest at these input shapes.
    var options = SparseKernelSelector.Options()
    options.codebooks = codebooks  // a .pkz's weight-shared layers run on their codes
    let selector = SparseKernelSelector(
      graph: graph, inputShapes: feeds.mapValues(\.shape), sample: feeds, options: options)
    let executor = try Executor(graph: graph, selector: selector)
    let outputs = try executor.run(feeds)
    try SafeTensorsWriter.write(outputs, to: output)
    for info in graph.outputs {
      print("\(info.name): \(outputs[info.name].map { "\($0.dtype.rawValue) \($0.shape)" } ?? "-")")
    }
  }

  /// The tensors for `inputs`: by name; a single-input model falls back to the file's only tensor
  /// or the one named `input`.
  static func feeds(for inputs: [ValueInfo], from file: SafeTensorsFile, path: String) throws -> [String:
    Tensor]
  {
    var feeds: [String: Tensor] = [:]
    for info in inputs {
      if file.contains(info.name) {
        feeds[info.name] = try file.tensor(named: info.name)
      } else if inputs.count == 1, file.names.count == 1 {
        feeds[info.name] = try file.tensor(named: file.names[0])
      } else if inputs.count == 1, file.contains("input") {
        feeds[info.name] = try file.tensor(named: "input")
      } else {
        throw ModelGraphError.invalidModel(
          "\(path): no tensor named '\(info.name)' (model inputs: \(inputs.map(\.name).joined(separator: ", ")); "
            + "file holds: \(file.names.joined(separator: ", ")))")
      }
    }
    return feeds
  }
}
