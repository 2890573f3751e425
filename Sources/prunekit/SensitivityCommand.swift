import ArgumentParser
import Foundation
import PruneKit

/// `prunekit sensitivity MODEL --data DIR [-o curves.json]`: per-layer accuracy vs sparsity.
struct SensitivityCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sensitivity",
    abstract: "Per-layer accuracy vs sparsity on validation data; prints a table and saves the curves.",
    discussion: "Each prunable layer alone is pruned by magnitude to each sparsity and the model evaluated.")

  @Argument(help: "Trained classification model (.onnx) reading MNIST-format images.")
  var model: String

  @Option(help: "MNIST-format IDX folder ('default' = the repository's copy); its test split is used.")
  var data: String = "default"

  @Option(parsing: .unconditional, help: "Evaluate on the first N test images.") var limit: Int = 2000

  @Option(help: "Comma-separated sparsities.") var sparsities: String = "0,0.5,0.7,0.8,0.9,0.95,0.98"

  @Option(parsing: .unconditional, help: "Also allocate per-layer sparsities meeting this global sparsity.")
  var target: Double?

  @Option(name: [.short, .customLong("output")], help: "JSON file for the curves.") var output: String?

  func validate() throws {
    try OptionCheck.int(limit, "--limit", in: 1...Int(Int32.max))
    if let target { try OptionCheck.number(target, "--target", in: 0...1, openUpper: true) }
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
    let test = try MNIST.load(directory: PruneDataSources.folder(data), split: .test, limit: limit)
    let grid = try Self.grid(sparsities)
    var evaluator = DatasetEvaluator(data: test)
    let report = try SensitivityAnalysis(sparsities: grid).run(
      graph, evaluator: &evaluator, macs: (try? graph.macsByWeight(inputShapes: graph.inputShapes())) ?? [:]
    ) { done, total in FileHandle.standardError.write(Data("layer \(done)/\(total)\n".utf8)) }
    var header = "layer".padding(toLength: 24, withPad: " ", startingAt: 0)
    for s in grid { header += String(format: "%8.0f%%", 100 * s) }
    print(header)
    for curve in report.curves {
      var line = String(curve.layer.prefix(23)).padding(toLength: 24, withPad: " ", startingAt: 0)
      for q in curve.quality { line += String(format: "%8.2f%%", 100 * q) }
      print(line)
    }
    if let target {
      let allocation = try SparsityAllocator().allocate(report, target: .sparsity(target))
      for (layer, s) in allocation.sparsities.sorted(by: { $0.key < $1.key }) {
        print(String(format: "allocate %@ → %.0f%%", layer, 100 * s))
      }
    }
    if let output {
      try AtomicFile.write(try JSONEncoder.pretty.encode(report), to: output)
      print("wrote \(output)")
    }
  }
}
