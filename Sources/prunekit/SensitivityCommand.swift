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

  @Option(help: "Evaluate on the first N test images.") var limit: Int = 2000

  @Option(help: "Comma-separated sparsities.") var sparsities: String = "0,0.5,0.7,0.8,0.9,0.95,0.98"

  @Option(help: "Also allocate per-layer sparsities meeting this global sparsity.") var target: Double?

  @Option(name: [.short, .customLong("output")], help: "JSON file for the curves.") var output: String?

  func run() throws {
    let graph = try ModelFile.loadAny(model)
    let test = try MNIST.load(directory: PruneDataSources.folder(data), split: .test, limit: limit)
    let grid = sparsities.split(separator: ",").compactMap { Double($0) }
    guard !grid.isEmpty else { throw ValidationError("--sparsities: e.g. 0,0.5,0.9") }
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
      // .atomic: Foundation writes a temporary file and renames it into place.
      try JSONEncoder.pretty.encode(report).write(to: URL(fileURLWithPath: output), options: .atomic)
      print("wrote \(output)")
    }
  }
}
