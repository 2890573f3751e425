import ArgumentParser
import Foundation
import PruneKit

/// `prunekit sensitivity MODEL --data DIR [-o curves.json]`: per-layer accuracy vs sparsity.
struct SensitivityCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sensitivity",
    abstract: "Per-layer accuracy vs sparsity on validation data; prints a table and saves the curves.",
    usage: "prunekit sensitivity <model> [--data <dir>] [--target <fraction> [--by macs]] [<options>]",
    discussion: """
      Each prunable layer alone is pruned by magnitude to each sparsity of the grid and the model \
      evaluated on the first --limit images of the validation split (the last 10% of the training \
      images; selection never looks at test data — --split test only to compare). With --target, per-layer sparsities are allocated \
      from these curves: the choice on the grid (one sparsity per layer) that removes at least the \
      target fraction of the weights (or of the MACs with --by macs) with the least summed predicted \
      accuracy loss, assuming layer losses add up independently (an exact multiple-choice knapsack). \
      The output says what was optimised, the predicted loss and the fraction reached.

      Examples:
        prunekit sensitivity lenet300.onnx --data Data/mnist
        prunekit sensitivity lenet300.onnx --target 0.9 -o curves.json
        prunekit sensitivity lenet5.onnx --target 0.8 --by macs --json
      """)

  @Argument(help: "Trained classification model (.onnx) reading MNIST-format images.")
  var model: String

  @Option(help: "MNIST-format IDX folder (default: the repository's copy).")
  var data: String?

  @Option(help: "validation (the last 10% of train) or test.") var split = "validation"

  @Option(parsing: .unconditional, help: "Evaluate on the first N images of the split.") var limit: Int = 2000

  @Option(help: "Comma-separated sparsities.") var sparsities: String = "0,0.5,0.7,0.8,0.9,0.95,0.98"

  @Option(parsing: .unconditional, help: "Also allocate per-layer sparsities removing this fraction overall.")
  var target: Double?

  @Option(help: "What --target counts: weights or macs (default weights).")
  var by: String?

  @OptionGroup var format: JSONOption
  @OptionGroup var verbosity: VerbosityOptions
  @OptionGroup var threads: ThreadsOption

  /// What `--json` prints.
  struct Output: Encodable {
    struct Allocation: Encodable {
      let objective: String
      let target: Double
      let by: String
      let achieved: Double
      let predictedLoss: Double
      let sparsities: [String: Double]
    }
    let report: SensitivityReport
    let allocation: Allocation?
  }

  @Option(name: [.short, .customLong("output")], help: "JSON file for the curves.") var output: String?

  func validate() throws {
    try OptionCheck.int(limit, "--limit", in: 1...Int(Int32.max))
    guard ["validation", "test"].contains(split) else { throw ValidationError("--split \(split): expected validation or test") }
    if let target { try OptionCheck.number(target, "--target", in: 0...1, openUpper: true) }
    if let by, !["weights", "macs"].contains(by) { throw ValidationError("--by \(by): expected weights or macs") }
    if by != nil && target == nil { throw ValidationError("--by: not applicable without --target") }
    _ = try Self.grid(sparsities)
    if let output { try OptionCheck.output(output, inputs: [model], extensions: ["json"]) }
  }

  /// "0,0.5,0.9" → [0, 0.5, 0.9], each in [0, 1).
  static func grid(_ text: String) throws -> [Double] {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false)
    var grid: [Double] = []
    for part in parts {
      guard let s = Double(part) else { throw ValidationError("--sparsities \(text): '\(part)' is not a number; e.g. 0,0.5,0.9") }
      try OptionCheck.number(s, "--sparsities", in: 0...1, openUpper: true)
      grid.append(s)
    }
    guard !grid.isEmpty else { throw ValidationError("--sparsities: e.g. 0,0.5,0.9") }
    return grid
  }

  func run() throws {
    let graph = try ModelFile.loadAny(model)
    let folder = try PruneDataSources.folder(data)
    let selection = split == "test"
      ? try MNIST.load(directory: folder, split: .test, limit: limit)
      : try MNIST.load(directory: folder, split: .train).validationSplit(fraction: 0.1).validation.prefix(limit)
    note("evaluating on \(selection.count) \(split == "test" ? "test" : "validation (last 10% of train)") images")
    let grid = try Self.grid(sparsities)
    var evaluator = DatasetEvaluator(data: selection)
    let report = try SensitivityAnalysis(sparsities: grid).run(
      graph, evaluator: &evaluator, macs: (try? graph.macsByWeight(inputShapes: graph.inputShapes())) ?? [:]
    ) { done, total in note("layer \(done)/\(total)") }
    var allocation: Output.Allocation?
    if let target {
      let byMACs = by == "macs"
      let chosen = try SparsityAllocator().allocate(report, target: byMACs ? .macs(target) : .sparsity(target))
      allocation = Output.Allocation(
        objective: "least summed predicted accuracy loss, layers assumed independent", target: target,
        by: byMACs ? "macs" : "weights", achieved: chosen.achieved, predictedLoss: chosen.predictedLoss,
        sparsities: chosen.sparsities)
    }
    if format.json {
      if let output { try AtomicFile.write(try JSONEncoder.pretty.encode(report), to: output) }
      return try JSONOutput.print(Output(report: report, allocation: allocation), command: "sensitivity")
    }
    let table = ReportTable(
      columns: ["layer"] + grid.map { String(format: "%.0f%%", 100 * $0) },
      rows: report.curves.map { curve in
        [String(curve.layer.prefix(23))] + curve.quality.map { String(format: "%.2f%%", 100 * $0) }
      })
    print(table.text(), terminator: "")
    if let a = allocation {
      print(
        String(
          format: "allocation: remove ≥ %.1f%% of the %@ with the least summed predicted accuracy loss "
            + "(layers assumed independent, sparsities from the grid): predicted loss %.2f pp, reached %.1f%%",
          100 * a.target, a.by == "macs" ? "MACs" : "weights", 100 * a.predictedLoss, 100 * a.achieved))
      for (layer, s) in a.sparsities.sorted(by: { $0.key < $1.key }) {
        print(String(format: "  %@ → %.0f%%", layer, 100 * s))
      }
      if Set(a.sparsities.values).count == 1 && a.sparsities.count > 1 {
        print(
          "note: every layer got the same sparsity: on this grid no uneven mix loses less; add grid points "
            + "around the target (--sparsities) to let the allocator trade between layers")
      }
    }
    if let output {
      try AtomicFile.write(try JSONEncoder.pretty.encode(report), to: output)
      print("wrote \(output)")
    }
  }
}
