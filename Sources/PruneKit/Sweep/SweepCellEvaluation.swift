import Evaluation
import Foundation
import ModelGraph
import Report
import Runtime
import TensorCore
import Training

/// How a sweep cell is evaluated, in one function so that it can be swapped for `prunekit eval`'s
/// recipe: the pruned model and the dense one on the same images, with the Evaluation module's
/// metrics (accuracy, top-5, per-class F1, confusion, per-class groups, flips against the dense
/// model, ECE). Only deterministic figures go in: no timings, dates or host names, so a cell's
/// record is the same bytes whichever machine computes it.
enum SweepCellEvaluation {
  /// Reliability bins of the calibration facts (ECE as in `expectedCalibrationError`).
  static let calibrationBins = 15
  /// Pruning-identified exemplars kept in the record (the first, in data order).
  static let exemplarLimit = 20

  /// The evaluation images the spec names (test files, or the last 10 % of the training files).
  static func data(_ evaluation: SweepSpec.Evaluation) throws -> (ImageDataset, RunRecord.DataFacts) {
    let folder = evaluation.data
    if evaluation.split == "validation" {
      let train = try MNIST.load(directory: folder, split: .train, limit: nil)
      var validation = try train.validationSplit(fraction: 0.1).validation
      if let limit = evaluation.limit { validation = validation.prefix(limit) }
      return (
        validation,
        .init(source: folder, split: "validation (last 10% of train)", sampleCount: validation.count)
      )
    }
    let test = try MNIST.load(directory: folder, split: .test, limit: evaluation.limit)
    return (test, .init(source: folder, split: "test", sampleCount: test.count))
  }

  /// Fills `record`'s data, accuracy, groups, agreement, calibration and dense sections.
  static func evaluate(
    pruned: Graph, dense: Graph, denseName: String, evaluation: SweepSpec.Evaluation, into record: inout RunRecord
  ) throws {
    let (data, facts) = try self.data(evaluation)
    let labels = data.labels
    let prunedLogits = try logits(of: pruned, on: data)
    let denseLogits = try logits(of: dense, on: data)
    let predicted = try predictions(fromLogits: prunedLogits)
    let densePredicted = try predictions(fromLogits: denseLogits)
    let metrics = try ClassificationMetrics(predictions: predicted, labels: labels, classCount: data.classCount)
    let denseMetrics = try ClassificationMetrics(
      predictions: densePredicted, labels: labels, classCount: data.classCount)
    let k = min(5, data.classCount)
    record.data = facts
    record.accuracy = RunRecord.AccuracyFacts(
      top1: metrics.accuracy, topK: ["\(k)": try topKAccuracy(logits: prunedLogits, labels: labels, k: k)],
      macroF1: metrics.macroF1,
      perClass: (0..<data.classCount).map {
        .init(
          label: $0, support: metrics.support($0), precision: metrics.precision($0), recall: metrics.recall($0),
          f1: metrics.f1($0))
      }, confusion: metrics.confusion)
    let groups = (0..<data.classCount).filter { metrics.support($0) > 0 }.map { c in
      RunRecord.GroupFacts.Group(
        name: "class \(c)", count: metrics.support(c), accuracy: metrics.recall(c) ?? 0,
        denseAccuracy: denseMetrics.recall(c))
    }
    let accuracies = groups.map(\.accuracy)
    record.groups = RunRecord.GroupFacts(
      definition: "classes", groups: groups, worstGroupAccuracy: accuracies.min() ?? 0,
      largestGap: (accuracies.max() ?? 0) - (accuracies.min() ?? 0))
    let agreement = try Agreement(dense: densePredicted, compressed: predicted, labels: labels)
    record.agreement = RunRecord.AgreementFacts(
      sampleCount: agreement.sampleCount, flipRate: 1 - agreement.agreementRate, lost: agreement.lost,
      gained: agreement.gained,
      exemplars: agreement.flipped.prefix(exemplarLimit).map {
        .init(index: $0, label: labels[$0], dense: densePredicted[$0], pruned: predicted[$0], group: "class \(labels[$0])")
      })
    let ece = try expectedCalibrationError(logits: prunedLogits, labels: labels, bins: calibrationBins)
    record.calibration = RunRecord.CalibrationFacts(
      ece: ece, bins: reliabilityBins(logits: prunedLogits, labels: labels, bins: calibrationBins))
    record.dense = RunRecord.DenseFacts(
      path: denseName, accuracy: denseMetrics.accuracy, worstGroupAccuracy: groups.compactMap(\.denseAccuracy).min(),
      ece: try expectedCalibrationError(logits: denseLogits, labels: labels, bins: calibrationBins))
  }

  /// Logits [N, classes] of `graph` on every image, in batches of 500 (Runtime executor, dense kernels).
  static func logits(of graph: Graph, on data: ImageDataset, batchSize: Int = 500) throws -> Tensor {
    let executor = try Executor(graph: graph)
    guard let input = executor.requiredInputs.first, executor.requiredInputs.count == 1,
      let output = graph.outputs.first?.name
    else {
      throw EvaluationError.invalidArgument(
        "graph '\(graph.name)': a sweep evaluates image classifiers with one input and one output; this one "
          + "needs inputs \(executor.requiredInputs.map(\.name))")
    }
    // The image batch [n, c, h, w], reshaped to the input's fixed shape ([n, c·h·w] for an MLP).
    let tail = (input.shape ?? []).dropFirst().map { $0.value ?? -1 }
    var dims = [data.channels, data.height, data.width]
    if !tail.isEmpty && tail.allSatisfy({ $0 > 0 }) {
      guard tail.reduce(1, *) == data.imageSize else {
        throw EvaluationError.shape(
          what: "graph input '\(input.name)'", expected: "[batch, …] holding \(data.imageSize) values per image",
          found: "\(input.shape.map { "\($0)" } ?? "no shape")")
      }
      dims = Array(tail)
    }
    var values: [Float] = []
    var classes = 0
    var start = 0
    while start < data.count {
      let end = min(start + batchSize, data.count)
      let batch = data.batch(start..<end)
      let inputs = try batch.inputs.reshaped([end - start] + dims)
      guard let out = try executor.run([input.name: inputs])[output], out.rank == 2, out.shape[0] == end - start
      else {
        throw EvaluationError.shape(what: "graph output '\(output)'", expected: "logits [batch, classes]", found: "other")
      }
      guard out.shape[1] == data.classCount else {
        throw EvaluationError.shape(
          what: "graph output '\(output)'", expected: "[batch, \(data.classCount)] (the data's classes)",
          found: "\(out.shape)")
      }
      classes = out.shape[1]
      values += out.asFloats()
      start = end
    }
    return Tensor(shape: [data.count, classes], floats: values)
  }

  /// The bins of a reliability diagram: confidence = max softmax probability, equal-width bins.
  static func reliabilityBins(logits: Tensor, labels: [Int], bins: Int) -> [RunRecord.CalibrationFacts.Bin] {
    let (n, c) = (logits.shape[0], logits.shape[1])
    let z = logits.asFloats()
    var count = [Int](repeating: 0, count: bins)
    var hits = [Double](repeating: 0, count: bins)
    var confidence = [Double](repeating: 0, count: bins)
    for row in 0..<n {
      let slice = z[(row * c)..<(row * c + c)]
      let top = slice.max()!
      let p = 1 / slice.reduce(0.0) { $0 + exp(Double($1) - Double(top)) }
      let b = min(bins - 1, Int(p * Double(bins)))
      count[b] += 1
      confidence[b] += p
      if slice.firstIndex(of: top)! - row * c == labels[row] { hits[b] += 1 }
    }
    var result: [RunRecord.CalibrationFacts.Bin] = []
    for b in 0..<bins {
      let n = Double(max(count[b], 1))
      let (lower, upper) = (Double(b) / Double(bins), Double(b + 1) / Double(bins))
      result.append(
        .init(lower: lower, upper: upper, count: count[b], meanConfidence: confidence[b] / n, accuracy: hits[b] / n))
    }
    return result
  }
}
