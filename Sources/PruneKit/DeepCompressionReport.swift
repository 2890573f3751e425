import Foundation
import Report

/// The demo's report: each Deep Compression stage file (dense, pruned, shared, Huffman-coded) evaluated
/// on the test split beside the dense stage by `EvaluationRecipe`, one run record per stage, and the
/// page of all four (`RunReport`).
public enum DeepCompressionReport {
  /// The stage files of a finished recipe, in pipeline order, with their report labels.
  public static func stages(of recipe: DeepCompressionRecipe) -> [(label: String, path: String)] {
    [
      ("dense", recipe.stagePath("dense")), ("pruned", recipe.stagePath("pruned")),
      ("shared", recipe.stagePath("quantized")), ("Huffman .pkz", recipe.finalPath),
    ]
  }

  /// Evaluates every stage (the dense stage alone, the others beside it) and writes
  /// `<output>/<name>-<stage>.run.json` for each and `<output>/report.html`. Returns the records and
  /// the report's path.
  public static func write(
    recipe: DeepCompressionRecipe, result: DeepCompressionResult, data: String, options: EvaluationOptions,
    progress: ((String) -> Void)? = nil
  ) throws -> (records: [RunRecord], report: String) {
    let stages = stages(of: recipe)
    let densePath = stages[0].path
    var records: [RunRecord] = []
    for (index, stage) in stages.enumerated() {
      var o = options
      o.label = stage.label
      o.recipe = .init(
        method: "deep compression",
        pattern: "unstructured", schedule: "iterative, \(result.rounds.count) rounds",
        finetune: index >= 2 ? "centroids" : nil, seed: Int(options.seed), denseModel: index == 0 ? nil : densePath)
      let record = try EvaluationRecipe.evaluate(
        model: stage.path, dense: index == 0 ? nil : densePath, data: data, options: o, progress: progress)
      let slug = stage.label.split(separator: " ")[0].lowercased()
      try record.write(to: (recipe.outputDirectory as NSString).appendingPathComponent("\(recipe.name)-\(slug).run.json"))
      records.append(record)
    }
    let path = (recipe.outputDirectory as NSString).appendingPathComponent("report.html")
    let page = RunReport.document(
      records, title: "PruneKit demo: \(recipe.name) through Deep Compression",
      subtitle: "Dense → pruned → shared weights → Huffman-coded .pkz; every stage file evaluated on the test split.")
    try writeAtomically(Data(page.html().utf8), to: path)
    return (records, path)
  }
}
