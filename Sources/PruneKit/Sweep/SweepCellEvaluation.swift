import Foundation
import Report

/// How a sweep cell is evaluated: `prunekit eval`'s recipe (`EvaluationRecipe`) on the pruned model
/// beside the dense one, on the spec's data. Only deterministic figures are kept, so a cell's record
/// is the same bytes whichever machine computes it: the wall-clock latency (and the notes naming the
/// thread count) are dropped, the model's path is the cell's, not a temporary file's. Latency of the
/// chosen models is measured with `prunekit eval` / `prunekit bench` on one quiet machine.
enum SweepCellEvaluation {
  static func options(_ evaluation: SweepSpec.Evaluation, seed: UInt64) throws -> EvaluationOptions {
    var options = EvaluationOptions()
    options.split = evaluation.split == "validation" ? .validation : .test
    options.limit = evaluation.limit
    options.seed = seed
    // Corruptions: none unless the spec names them (each costs a pass per severity for both models).
    options.corruptions = evaluation.corruptions ?? []
    if let groups = evaluation.groups { options.groups = try EvaluationOptions.Groups(parsing: groups) }
    options.filter = try evaluation.filter.map { try RowFilter(parsing: $0, option: "--filter") }
    options.probeSample = evaluation.probeSample
    // Timed, then dropped: one run, no warm-up.
    options.latencyWarmup = 0
    options.latencyRuns = 1
    return options
  }

  /// The record of the pruned model at `modelPath` beside the spec's dense model.
  static func evaluate(
    modelPath: String, spec: SweepSpec, label: String, recipe: RunRecord.RecipeFacts,
    progress: ((String) -> Void)? = nil
  ) throws -> RunRecord {
    var options = try options(spec.evaluation, seed: spec.seed)
    // Texts: the pruned model sits in a temporary folder; its tokenizer is the dense model's.
    if spec.evaluation.data.contains(":") && !FileManager.default.fileExists(atPath: spec.evaluation.data) {
      options.tokenizer = try WordPieceTokenizer.tokenizerFolder(forModel: spec.model)
    }
    options.label = label
    options.recipe = recipe
    var record = try EvaluationRecipe.evaluate(
      model: modelPath, dense: spec.model, data: spec.evaluation.data, options: options, progress: progress)
    record.latency = nil
    record.dense?.p50Milliseconds = nil
    record.dense?.p99Milliseconds = nil
    record.notes = ["PruneKit sweep cell, seed \(spec.seed); data: \(spec.evaluation.data); latency not measured in a cell"]
    return record
  }
}
