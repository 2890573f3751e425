import ArgumentParser
import Foundation
import PruneKit

/// `prunekit run MODEL --input IN.safetensors -o OUT.safetensors`: runs a model on tensors from a
/// safetensors file and writes its outputs (under the model's output names) atomically.
struct RunCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run",
    abstract: "Run a model on tensors from a file, on seeded random inputs, or on texts; print latency.",
    discussion: """
      Inputs come from one of three places. --input FILE.safetensors: tensors matched to the \
      model's inputs by name (a model with a single input also takes a file holding one tensor, or \
      the tensor named `input`). --random: seeded inputs made from the model's input shapes \
      (--batch on the first symbolic axis, --sequence on the others; floats N(0, 1), token ids, \
      masks of ones). --text: one or more texts for a text model, tokenized with the tokenizer of \
      the Hugging Face folder the model is in (or --tokenizer FOLDER). The model runs once to warm \
      up, then --runs times; the median latency is printed. Outputs are written with -o under the \
      model's output names, to a temporary file renamed into place.

      Examples:
        prunekit run model.onnx --input in.safetensors -o out.safetensors
        prunekit run model.onnx --random --batch 8 --seed 3
        prunekit run minilm-folder --text "a happy tweet" --text "a sad one"
      """)

  @Argument(
    help: "Model file (\((ModelFile.knownExtensions + ["pkz"]).map { ".\($0)" }.joined(separator: ", ")), or a folder).")
  var model: String

  @Option(name: .long, help: "safetensors file with the input tensors.")
  var input: String?

  @Flag(help: "Make seeded random inputs from the model's input shapes.")
  var random = false

  @Option(help: "A text for a text model (repeat for a batch).")
  var text: [String] = []

  @Option(help: "Hugging Face folder with the tokenizer for --text (default: the model's folder).")
  var tokenizer: String?

  @Option(parsing: .unconditional, help: "With --random: size of the first symbolic axis.")
  var batch: Int?

  @Option(parsing: .unconditional, help: "With --random: size of the other symbolic axes (default 64).")
  var sequence: Int?

  @Option(parsing: .unconditional, help: "Timed runs after the warm-up run.")
  var runs = 5

  @OptionGroup var seeds: SeedOption
  @OptionGroup var threads: ThreadsOption
  @OptionGroup var format: JSONOption
  @OptionGroup var verbosity: VerbosityOptions

  @Option(name: .shortAndLong, help: "safetensors file to write the outputs to (optional).")
  var output: String?

  /// What `--json` prints.
  struct Output: Encodable {
    struct Value: Encodable {
      let name: String
      let dtype: String
      let shape: [Int]
    }
    let inputs: [Value]
    let outputs: [Value]
    let latencyMs: Double
    let latencyP10Ms: Double
    let latencyP90Ms: Double
    let runs: Int
    let output: String?
  }

  func validate() throws {
    try OptionCheck.exclusive(["--input": input != nil, "--random": random, "--text": !text.isEmpty])
    guard input != nil || random || !text.isEmpty else {
      throw ValidationError("give the inputs: --input FILE.safetensors, --random or --text TEXT")
    }
    if !random {
      try OptionCheck.inapplicable(
        ["--batch": batch != nil, "--sequence": sequence != nil], because: "they size --random inputs")
    }
    if text.isEmpty {
      try OptionCheck.inapplicable(["--tokenizer": tokenizer != nil], because: "it tokenizes --text")
    }
    try OptionCheck.int(batch, "--batch", in: 1...OptionCheck.maxSize)
    try OptionCheck.int(sequence, "--sequence", in: 1...OptionCheck.maxSize)
    try OptionCheck.int(runs, "--runs", in: 1...1_000_000)
    if let output {
      try OptionCheck.output(output, inputs: [model] + (input.map { [$0] } ?? []), extensions: ["safetensors"])
    }
  }

  func run() throws {
    let (graph, codebooks) = try ModelFile.loadWithCodebooks(model)
    let required = graph.inputs.filter { graph.initializers[$0.name] == nil }
    let feeds: [String: Tensor]
    if let input {
      feeds = try Self.feeds(for: required, from: SafeTensorsFile(path: input), path: input)
    } else if random {
      if let batch, let sequence {
        try EnergyCommand.checkSizes(graph, batch: batch, sequence: sequence, path: model)
      }
      feeds = try ModelBenchmark.inputs(
        for: graph, batch: batch ?? 1, sequence: sequence ?? 64, seed: seeds.seed)
    } else {
      feeds = try textFeeds(graph, required: required)
    }
    // Sparse layers get the kernel measured fastest at these input shapes.
    var options = SparseKernelSelector.Options()
    options.codebooks = codebooks  // a .pkz's weight-shared layers run on their codes
    let selector = SparseKernelSelector(
      graph: graph, inputShapes: feeds.mapValues(\.shape), sample: feeds, options: options)
    let executor = try Executor(graph: graph, selector: selector)
    var outputs = try executor.run(feeds)
    let latency = try LatencyStats.measure(warmup: 0, runs: runs) { outputs = try executor.run(feeds) }
    if let output { try SafeTensorsWriter.write(outputs, to: output) }
    func values(_ infos: [ValueInfo], _ tensors: [String: Tensor]) -> [Output.Value] {
      infos.compactMap { info in
        tensors[info.name].map { Output.Value(name: info.name, dtype: $0.dtype.rawValue, shape: $0.shape) }
      }
    }
    let result = Output(
      inputs: values(required, feeds), outputs: values(graph.outputs, outputs), latencyMs: latency.median * 1e3,
      latencyP10Ms: latency.percentile(10) * 1e3, latencyP90Ms: latency.percentile(90) * 1e3, runs: runs,
      output: output)
    if format.json { return try JSONOutput.print(result, command: "run") }
    for v in result.outputs { print("\(v.name): \(v.dtype) \(v.shape)") }
    print(
      String(
        format: "latency: %.3f ms median (p10 %.3f, p90 %.3f) over %d runs, %d thread(s)", result.latencyMs,
        result.latencyP10Ms, result.latencyP90Ms, runs, ThreadPool.shared.threadCount))
    if let output { print("wrote \(output)") }
  }

  /// Token ids, mask and type ids for `--text`, with the tokenizer of the model's Hugging Face folder.
  func textFeeds(_ graph: Graph, required: [ValueInfo]) throws -> [String: Tensor] {
    guard required.contains(where: { $0.name == "input_ids" }) else {
      throw ValidationError(
        "--text: \(model) is not a text model (expected an input named input_ids; inputs: "
          + "\(required.map(\.name).joined(separator: ", ")))")
    }
    // The folder the graph was read from (its metadata), else the search beside the model file.
    let words = try WordPieceTokenizer.forModel(model, folder: tokenizer ?? HuggingFaceFolder.sourceFolder(of: graph))
    let encoding = words.encode(text)
    var feeds = encoding.graphInputs
    for key in feeds.keys where !required.contains(where: { $0.name == key }) { feeds[key] = nil }
    return feeds
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
