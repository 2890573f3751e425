import Compression
import Foundation
import ModelGraph
import TensorCore
import Training

/// The Deep Compression workbench for LeNet-300-100 / LeNet-5 on MNIST, over the Training module:
/// dense training (or a cached checkpoint), masked retraining between pruning rounds, mini-batch
/// gradients for centroid fine-tuning, and the test error on the 10,000 test images.
///
/// Training settings follow `prunekit train` (SGD, Nesterov momentum 0.9, weight decay 5e-4, cosine
/// schedule, batch 64); retraining uses a 10× smaller learning rate, as Han et al. 2015 (§3.3) advise.
public final class LeNetWorkbench: DeepCompressionWorkbench {
  public enum Model: String, Sendable, CaseIterable {
    case lenet300, lenet5

    /// Kept fraction per layer after pruning: Han et al. 2015, Table 2 (LeNet-300-100: 8%, 9%, 26%)
    /// and Table 3 (LeNet-5: 66%, 12%, 8%, 19%).
    public var paperKeptFractions: [String: Double] {
      switch self {
      case .lenet300: return ["fc1.weight": 0.08, "fc2.weight": 0.09, "fc3.weight": 0.26]
      case .lenet5:
        return ["conv1.weight": 0.66, "conv2.weight": 0.12, "fc1.weight": 0.08, "fc2.weight": 0.19]
      }
    }

    public func graph(seed: UInt64) -> Graph {
      self == .lenet300 ? LeNet.lenet300100(seed: seed) : LeNet.lenet5(seed: seed)
    }
  }

  public struct Settings: Sendable {
    public var epochs: Int
    public var retrainEpochs: Int
    public var learningRate: Float
    public var retrainLearningRate: Float
    public var batchSize: Int
    public var seed: UInt64
    /// Train on the first N training images only (quick runs and tests).
    public var trainLimit: Int?
    public var testLimit: Int?

    public init(
      epochs: Int = 8, retrainEpochs: Int = 2, learningRate: Float = 0.05, retrainLearningRate: Float = 0.005,
      batchSize: Int = 64, seed: UInt64 = 1, trainLimit: Int? = nil, testLimit: Int? = nil
    ) {
      self.epochs = epochs
      self.retrainEpochs = retrainEpochs
      self.learningRate = learningRate
      self.retrainLearningRate = retrainLearningRate
      self.batchSize = batchSize
      self.seed = seed
      self.trainLimit = trainLimit
      self.testLimit = testLimit
    }
  }

  public let model: Model
  public let settings: Settings
  public let train: ImageDataset
  public let test: ImageDataset
  /// Folder of the dense checkpoint cache (nil: always train).
  public let cacheDirectory: String?
  /// Called during training: (label, steps done, steps in total, "loss … acc …").
  public var onProgress: ((String, Int, Int, String) -> Void)?
  /// Called with a line after each epoch and stage.
  public var onLog: ((String) -> Void)?
  private var gradientStep = 0
  private var order: [Int] = []

  public init(model: Model, settings: Settings = Settings(), dataDirectory: String, cacheDirectory: String?)
    throws
  {
    self.model = model
    self.settings = settings
    self.train = try MNIST.load(directory: dataDirectory, split: .train, limit: settings.trainLimit)
    self.test = try MNIST.load(directory: dataDirectory, split: .test, limit: settings.testLimit)
    self.cacheDirectory = cacheDirectory
  }

  /// The checkpoint this configuration caches its dense model in.
  public var cachePath: String? {
    cacheDirectory.map {
      let limit = settings.trainLimit.map { "-n\($0)" } ?? ""
      return ($0 as NSString).appendingPathComponent(
        "\(model.rawValue)-dense-e\(settings.epochs)-s\(settings.seed)\(limit).safetensors")
    }
  }

  public func denseModel() throws -> Graph {
    let fresh = model.graph(seed: settings.seed)
    if let path = cachePath, FileManager.default.fileExists(atPath: path) {
      onLog?("reusing the cached dense model \(path)")
      return try Checkpoint.load(path, into: fresh)
    }
    var graph = fresh
    try fit(&graph, epochs: settings.epochs, learningRate: settings.learningRate, label: "train")
    if let dir = cacheDirectory, let path = cachePath {
      try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
      try Checkpoint.save(graph, to: path)
      onLog?("cached the dense model in \(path)")
    }
    return graph
  }

  public func retrain(_ graph: inout Graph, round: Int) throws {
    try fit(
      &graph, epochs: settings.retrainEpochs, learningRate: settings.retrainLearningRate,
      label: "retrain \(round + 1)")
  }

  public func gradients(of graph: Graph, for names: [String]) throws -> [String: Tensor] {
    let trainer = try Trainer(graph: graph, optimizer: SGD(learningRate: 0))
    let perEpoch = max(train.count / settings.batchSize, 1)
    if gradientStep % perEpoch == 0 {
      order = Array(0..<train.count)
      seededShuffle(&order, seed: settings.seed &+ 0xF1E7 &+ UInt64(gradientStep / perEpoch))
    }
    let start = (gradientStep % perEpoch) * settings.batchSize
    gradientStep += 1
    let batch = train.batch(order[start..<min(start + settings.batchSize, order.count)])
    let (_, _, grads) = try trainer.gradients(on: batch, training: false)
    var out = [String: Tensor]()
    for name in names {
      guard let i = trainer.parameters.index(of: name) else {
        throw ModelGraphError.missingInitializer(name: name)
      }
      out[name] = Tensor(shape: trainer.parameters.shapes[i], floats: grads[i])
    }
    return out
  }

  public func testError(of graph: Graph) throws -> Double {
    Double(try Trainer.evaluate(graph: graph, on: test).error)
  }

  /// Trains `graph` in place (masks held), SGD + Nesterov, cosine schedule over `epochs`.
  func fit(_ graph: inout Graph, epochs: Int, learningRate: Float, label: String) throws {
    let trainer = try Trainer(
      graph: graph,
      optimizer: SGD(learningRate: learningRate, momentum: 0.9, nesterov: true, weightDecay: 5e-4),
      configuration: TrainingConfiguration(
        batchSize: settings.batchSize, schedule: .cosine(minimumFactor: 0), seed: settings.seed))
    let steps = (train.count + settings.batchSize - 1) / settings.batchSize
    for epoch in 0..<epochs {
      var (lossSum, correct, seen, done) = (0.0, 0, 0, 0)
      let report = try trainer.train(on: train, epochs: 1, startEpoch: epoch, totalEpochs: epochs) { step in
        lossSum += Double(step.loss) * Double(step.count)
        correct += step.correct
        seen += step.count
        done += 1
        self.onProgress?(
          "\(label) epoch \(epoch + 1)/\(epochs)", done, steps,
          String(format: "loss %.4f acc %.2f%%", lossSum / Double(seen), 100 * Double(correct) / Double(seen))
        )
      }[0]
      onLog?(
        String(
          format: "%@ epoch %d/%d: loss %.4f, %.1f s", label, epoch + 1, epochs, report.loss, report.seconds))
    }
    graph = trainer.graph
  }
}
