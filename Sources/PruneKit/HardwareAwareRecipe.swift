import Evaluation
import Foundation
import ModelGraph
import Pruning
import Runtime
import TensorCore
import Training

/// The data side of hardware-aware planning: the timing inputs, the quality the losses are measured
/// on (selection data: a validation split or calibration texts) and the quality reported (test data).
public struct PlanningSetup {
  public var inputs: [String: Tensor]
  /// What the timing inputs are, for the plan file.
  public var timingInputs: String
  /// Token positions per row (encoders).
  public var sequence: Int?
  /// Selection: the losses the knapsack minimises.
  public var selection: QualityProbe
  /// Reporting: the quality shown in comparisons (never used to choose).
  public var report: QualityProbe?
  /// "accuracy" or "fidelity": which RunRecord section `report` fills.
  public var metric: String

  /// What an image model's losses are measured in on the validation images.
  public enum ImageSelection: String, Sendable, CaseIterable {
    /// Accuracy: the loss is the points of accuracy lost (steps of 1 / images).
    case accuracy
    /// Mean cross-entropy against the labels, negated (higher is better): the loss is the rise in
    /// cross-entropy, which moves with every image's confidence and so tells small cuts apart where
    /// accuracy on a few thousand images does not change.
    case crossEntropy = "cross-entropy"
  }

  /// An MNIST classifier: losses on the first `validation` images of the last 10 % of the training
  /// split (`ImageDataset.validationSplit`) in `selection`'s measure, timing on the first `batch` of
  /// them, reporting test accuracy on the first `testLimit` test images.
  public static func mnist(
    graph: Graph, folder: String, batch: Int, validation: Int, testLimit: Int?, selection: ImageSelection = .accuracy
  ) throws -> PlanningSetup {
    let train = try MNIST.load(directory: folder, split: .train)
    let held = try train.validationSplit(fraction: 0.1).validation
    let chosen = held.subset(0..<min(validation, held.count))
    let inputs = try timingInputs(graph: graph, images: chosen, batch: batch)
    func accuracy(_ data: ImageDataset) -> (Graph) throws -> QualityScore {
      { QualityScore(value: Double(try Trainer.evaluate(graph: $0, on: data).accuracy), count: data.count) }
    }
    let selected: QualityProbe
    switch selection {
    case .accuracy:
      selected = QualityProbe(
        name: "validation accuracy (\(chosen.count) images, last 10% of train)", score: accuracy(chosen))
    case .crossEntropy:
      selected = QualityProbe(name: "−validation cross-entropy (\(chosen.count) images, last 10% of train)") {
        QualityScore(value: -Double(try Trainer.evaluate(graph: $0, on: chosen).loss), count: chosen.count)
      }
    }
    var report: QualityProbe?
    if let testLimit {
      let test = try MNIST.load(directory: folder, split: .test, limit: testLimit)
      report = QualityProbe(name: "test accuracy (\(test.count) images)", score: accuracy(test))
    }
    return PlanningSetup(
      inputs: inputs, timingInputs: "MNIST validation images, batch \(batch)", sequence: nil, selection: selected,
      report: report, metric: "accuracy")
  }

  /// The first `batch` validation images as the graph's input (repeated when there are fewer).
  public static func timingInputs(graph: Graph, images: ImageDataset, batch: Int) throws -> [String: Tensor] {
    try ModelBenchmark.inputs(for: graph, batch: batch, images: Array(images.images.prefix(batch * images.height * images.width * images.channels)))
  }

  /// `timingInputs` from an MNIST folder's validation split (what `mnist` times on).
  public static func mnistTimingInputs(graph: Graph, folder: String, batch: Int) throws -> [String: Tensor] {
    let held = try MNIST.load(directory: folder, split: .train).validationSplit(fraction: 0.1).validation
    return try timingInputs(graph: graph, images: held, batch: batch)
  }

  /// A BERT-style sentence encoder: losses in embedding fidelity (mean cosine to the dense model's
  /// embeddings) on `calibration` texts, reporting on `evaluation` texts (keep them disjoint: the
  /// protocol's calibration rows 0..127 and fidelity rows 1000..2999); timing on seeded token ids of
  /// `batch` × `sequence`.
  public static func encoder(
    graph: Graph, tokenizer: WordPieceTokenizer, calibration: [String], evaluation: [String]?, batch: Int,
    sequence: Int, seed: UInt64, maxLength: Int = 128
  ) throws -> PlanningSetup {
    func probe(_ texts: [String], _ name: String) throws -> QualityProbe {
      let reference = try SentenceEmbedder(graph: graph, tokenizer: tokenizer, maxLength: maxLength).embed(texts)
      return QualityProbe(name: name) { g in
        let e = try SentenceEmbedder(graph: g, tokenizer: tokenizer, maxLength: maxLength).embed(texts)
        let f = try EmbeddingFidelity(reference.values, e.values, hidden: reference.hidden)
        return QualityScore(value: f.mean, minimum: f.min, count: f.count)
      }
    }
    let inputs = try ModelBenchmark.inputs(for: graph, batch: batch, sequence: sequence, seed: seed)
    return PlanningSetup(
      inputs: inputs, timingInputs: "seeded token ids, batch \(batch) × \(sequence)", sequence: sequence,
      selection: try probe(calibration, "fidelity to dense (\(calibration.count) calibration texts)"),
      report: try evaluation.map { try probe($0, "fidelity to dense (\($0.count) evaluation texts)") },
      metric: "fidelity")
  }
}
