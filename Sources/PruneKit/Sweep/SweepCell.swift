import Foundation
import ModelGraph
import Pruning
import Report
import Training

/// One cell of a sweep, a pure function of (spec, index): prune the model at the cell's grid point,
/// optionally fine-tune with the masks held, evaluate beside the dense model, and return the record.
/// Every random choice is seeded from the spec, and the record holds no timings, dates or host names.
public enum SweepCell {
  /// Runs cell `index` of `file`'s sweep. `keepModel`: also write the pruned model there (ONNX).
  public static func run(
    _ file: SweepFile, cell index: Int, keepModel: String? = nil, log: ((String) -> Void)? = nil
  ) throws -> RunRecord {
    let spec = file.spec
    let point = try spec.point(ofCell: index)
    let dense = try ModelFile.loadAny(spec.model)
    var graph = dense
    var options = PruneOptions()
    options.method = PruneOptions.Method(rawValue: point.method)!
    options.scope = PruningScope(rawValue: spec.scope) ?? .layer
    options.sparsity = point.sparsity
    options.pattern = point.pattern == "unstructured" ? .unstructured : SparsityPattern(argument: point.pattern)!
    options.seed = spec.seed
    let needsGradients = (try? CriterionRegistry.named(point.method))?.needs == .gradients
    let gradients = try spec.trainData.flatMap { data in
      needsGradients ? try PruneDataSources.gradientSource(for: graph, data: data, seed: spec.seed) : nil
    }
    log?("cell \(index): \(point): pruning")
    let summary = try PruneRecipe.prune(&graph, options: options, gradients: gradients)
    if let finetune = spec.finetune, let folder = spec.trainData {
      log?("cell \(index): fine-tuning \(finetune.epochs) epoch(s)")
      let train = try MNIST.load(directory: folder, split: .train, limit: finetune.limit)
      var recovery = TrainerRecovery(
        data: train, epochs: finetune.epochs, learningRate: Float(finetune.learningRate), seed: spec.seed,
        log: log, label: "cell \(index) fine-tune")
      try recovery.recover(&graph, round: 0)
    }
    log?("cell \(index): evaluating")
    let path = keepModel ?? NSTemporaryDirectory() + "prunekit-sweep-cell\(index)-\(UUID().uuidString).onnx"
    try ModelFile.save(graph, to: path)
    defer { if keepModel == nil { try? FileManager.default.removeItem(atPath: path) } }
    let recipe = RunRecord.RecipeFacts(
      method: point.method, targetSparsity: point.sparsity, pattern: point.pattern, schedule: "oneshot",
      finetune: spec.finetune.map { "\($0.epochs) epoch(s), SGD lr \($0.learningRate)" }, seed: Int(spec.seed),
      denseModel: spec.model)
    var record = try SweepCellEvaluation.evaluate(
      modelPath: path, spec: spec, label: point.description, recipe: recipe, progress: log)
    // The cell's model, not the temporary file's name: the same on every machine.
    record.model.path = keepModel.map { "models/" + ($0 as NSString).lastPathComponent } ?? "cell \(index) (not kept; --keep-models)"
    record.sweep = RunRecord.SweepFacts(specHash: file.specHash, cell: index, cellCount: file.cellCount)
    if !summary.skipped.isEmpty {
      record.notes = (record.notes ?? []) + ["left dense (shape does not fit \(point.pattern)): \(summary.skipped.joined(separator: ", "))"]
    }
    return record
  }
}

/// Runs a sweep's cells into its folder: each finished cell's record written atomically, each
/// failure recorded (and the next cell run), finished cells skipped.
public struct SweepRunner {
  public var directory: SweepDirectory
  public var file: SweepFile
  /// Also write each cell's pruned model to DIR/models/<i>.onnx.
  public var keepModels = false
  public var log: ((String) -> Void)?

  public init(directory: SweepDirectory, file: SweepFile) {
    self.directory = directory
    self.file = file
  }

  public struct Outcome: Sendable, Codable, Equatable {
    public var cell: Int
    /// "ran", "skipped" (already done), "failed".
    public var result: String
    public var error: String?
  }

  /// Runs `cells` (all cells when nil), skipping those already done. A cell that throws is
  /// recorded as failed and the others still run.
  public func run(cells: [Int]? = nil) throws -> [Outcome] {
    let status = try SweepStatus(directory: directory)
    let wanted = cells ?? Array(0..<file.cellCount)
    for cell in wanted where cell < 0 || cell >= file.cellCount {
      throw SweepError.cellOutOfRange(cell: cell, cellCount: file.cellCount)
    }
    if keepModels { try FileManager.default.createDirectory(atPath: directory.path + "/models", withIntermediateDirectories: true) }
    return try wanted.map { cell in
      if status.cells[cell].state == .done { return Outcome(cell: cell, result: "skipped") }
      do {
        let model = keepModels ? "\(directory.path)/models/\(cell).onnx" : nil
        let record = try SweepCell.run(file, cell: cell, keepModel: model, log: log)
        try directory.writeCell(record, cell: cell)
        return Outcome(cell: cell, result: "ran")
      } catch {
        try directory.recordFailure(cell: cell, specHash: file.specHash, error: "\(error)")
        return Outcome(cell: cell, result: "failed", error: "\(error)")
      }
    }
  }
}
