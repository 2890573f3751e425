import ArgumentParser
import Foundation
import PruneKit

/// `prunekit eval MODEL [--dense DENSE] --data DIR|FILE.csv:TEXT:LABEL [...] [-o run.json]`
struct EvalCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "eval",
    abstract: "Accuracy, groups, flips, calibration, robustness, latency, size and energy of one model.",
    usage: "prunekit eval <model> [--dense <model>] --data <dir|csv:text:label> [<options>]",
    discussion: """
      Evaluates a classifier (or an embedding model, through a linear probe trained on its own \
      embeddings) on labelled data, beside its dense reference when --dense is given: top-1 and top-k \
      accuracy, per-class precision/recall/F1 and the confusion matrix; per-group accuracy, the worst \
      group and the largest gap, and how each moved from the dense model; flips (inputs where the two \
      models disagree: the pruning-identified exemplars); ECE with its reliability bins; accuracy under \
      seeded corruptions at several severities (images: gaussian-noise, shot-noise, blur, contrast, \
      dropout, rotate, shift; texts: typos, swaps, casing, dropped-words); latency p50/p99 at batch 1; \
      size on disk, parameters, sparsity, MACs; modelled energy and CO2 per inference. -o writes the \
      run record that `prunekit report` reads (docs/evaluation.md).

      Examples:
        prunekit eval p.onnx --dense lenet300.onnx --data Data/mnist -o p.json
        prunekit eval p.onnx --data Data/mnist --split validation --limit 2000
        prunekit eval m.pkz --dense m.onnx --data t.csv:text:y --groups column:lang
        prunekit eval p.onnx --dense d.onnx --data t.csv:t:l --groups rules:g.txt
      """)

  @Argument(help: "The model to evaluate (.onnx, .safetensors with config.json, .pkz).")
  var model: String

  @Option(help: "The dense reference model: flips, and every figure's change from it.") var dense: String?
  @Option(help: "Labelled data: an MNIST-format IDX folder, or FILE.csv:TEXT:LABEL[:ROWS].") var data: String
  @Option(help: "IDX data: test (the t10k files) or validation (the last 10% of train).") var split = "test"
  @Option(help: "Groups: classes, column:NAME (CSV), or rules:FILE ('GROUP: word, …' per line).")
  var groups = "classes"
  @Option(help: "Corruptions, comma-separated, or none (default: every kind for the data).") var corruptions: String?
  @Option(help: "Corruption severities 1-5, comma-separated.") var severities = "1,3,5"
  @Option(parsing: .unconditional, help: "Robustness uses the first N evaluated samples.") var robustnessSamples = 1000
  @Option(parsing: .unconditional, help: "Evaluate only the first N samples.") var limit: Int?
  @Option(parsing: .unconditional, help: "Timed runs at batch 1 for latency p50/p99.") var latencyRuns = 30
  @Option(parsing: .unconditional, help: "At most this many flipped inputs are listed.") var maxExemplars = 100
  @Option(help: "The run's name in reports (default: the model's file name).") var label: String?
  @Option(help: "How the model was made (magnitude, wanda, …): the report draws one line per method.")
  var method: String?
  @Option(help: "Grid region for CO2, ISO 3166 alpha-3 (default: world average).") var region: String?
  @Option(help: "Texts: tokenizer folder (default: beside the model).") var tokenizer: String?
  @Option(parsing: .unconditional, help: "Texts: tokens per text.") var maxLength = 256
  @Option(help: "Embedding models: keep rows whose numeric column passes, e.g. 'confidence>=0.6'.")
  var filter: String?
  @Option(parsing: .unconditional, help: "Embedding models: probe on an evenly spaced sample of N rows.")
  var probeSample: Int?
  @Option(name: .shortAndLong, help: "Write the run record (JSON) here.") var output: String?
  @OptionGroup var seeds: SeedOption
  @OptionGroup var threads: ThreadsOption
  @OptionGroup var format: JSONOption
  @OptionGroup var verbosity: VerbosityOptions

  func validate() throws {
    guard EvaluationOptions.Split(rawValue: split) != nil else {
      throw ValidationError("--split \(split): expected test or validation")
    }
    _ = try options()
    try OptionCheck.int(robustnessSamples, "--robustness-samples", in: 1...Int(Int32.max))
    try OptionCheck.int(limit, "--limit", in: 1...Int(Int32.max))
    try OptionCheck.int(latencyRuns, "--latency-runs", in: 1...100_000)
    try OptionCheck.int(maxExemplars, "--max-exemplars", in: 0...Int(Int32.max))
    try OptionCheck.int(maxLength, "--max-length", in: 2...8192)
    try OptionCheck.int(probeSample, "--probe-sample", in: 3...Int(Int32.max))
    if let output {
      try OptionCheck.output(output, "-o", inputs: [model] + (dense.map { [$0] } ?? []), extensions: ["json"])
    }
  }

  func options() throws -> EvaluationOptions {
    var o = EvaluationOptions()
    o.split = EvaluationOptions.Split(rawValue: split) ?? .test
    do {
      o.groups = try EvaluationOptions.Groups(parsing: groups)
      o.filter = try filter.map { try RowFilter(parsing: $0, option: "--filter") }
    } catch { throw ValidationError("\(error)") }
    if let corruptions {
      let names = corruptions == "none" ? [] : corruptions.split(separator: ",").map(String.init)
      let known = EvaluationOptions.imageCorruptions + EvaluationOptions.textCorruptions
      if let bad = names.first(where: { !known.contains($0) }) {
        throw ValidationError("--corruptions \(bad): expected none or some of \(known.joined(separator: ", "))")
      }
      o.corruptions = names
    }
    let levels = severities.split(separator: ",").map { Int($0) }
    guard !levels.isEmpty, levels.allSatisfy({ $0.map { (1...5).contains($0) } ?? false }) else {
      throw ValidationError("--severities \(severities): expected comma-separated integers in 1...5")
    }
    o.severities = levels.map { $0! }
    o.robustnessSamples = robustnessSamples
    o.limit = limit
    o.latencyRuns = latencyRuns
    o.maxExemplars = maxExemplars
    o.label = label
    o.recipe = method.map { .init(method: $0, seed: Int(seeds.seed), denseModel: dense) }
    o.region = region
    o.tokenizer = tokenizer
    o.maxLength = maxLength
    o.probeSample = probeSample
    o.seed = seeds.seed
    return o
  }

  func run() throws {
    let record = try EvaluationRecipe.evaluate(
      model: model, dense: dense, data: data, options: try options(), progress: note)
    if let output {
      try record.write(to: output)
      note("wrote \(output)")
    }
    if format.json { return try JSONOutput.print(record, command: "eval") }
    for table in RunReport.terminalTables(record) { print(table.text(rule: true)) }
  }
}
