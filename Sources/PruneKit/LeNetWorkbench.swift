import Compression
import Foundation
import ModelGraph
import TensorCore
import Training

/// The Deep Compression workbench for LeNet-300-100 / LeNet-5 on MNIST, over the Training module:
/// dense training (or a cached checkpoint), masked retraining between pruning rounds, mini-batch
/// gradients for centroid fine-tuning, the error on the validation split (the last 10% of the training
/// images, held out of training; what the rounds are monitored on) and on the 10,000 test images (reported).
///
/// Dense training and retraining are `TrainerRecovery`, the same loop (SGD, Nesterov momentum 0.9,
/// weight decay 5e-4, cosine schedule, batch 64, seed + 1000·round) as `prunekit prune --schedule
/// iterative`, so the demo's pruned model is the prune command's for the same settings.
public final class LeNetWorkbench: DeepCompressionWorkbench {
  public enum Model: String, Sendable, CaseIterable {
    case lenet300, lenet5

    /// Kept fraction per layer after pruning: Han et al. 2015, Table 2 (LeNet-300-100: 8%, 9%, 26%)
    /// and Table 3 (LeNet-5: 66%, 12%, 8%, 19%).
    public var paperKeptFractions: [String: Double] { IterativePruningRecipe.paperKept(rawValue) }

    /// The demo's kept fractions: `IterativePruningRecipe.defaultKept`, slightly below the paper's;
    /// LeNet-5's fc1 keeps 5.5 % instead of 6.5 % (with 4-bit FC codebooks: 50.5× at 0.65 %, measured in
    /// docs/deep-compression.md).
    public var defaultKeptFractions: [String: Double] {
      var kept = IterativePruningRecipe.defaultKept(rawValue)
      if self == .lenet5 { kept["fc1.weight"] = 0.055 }
      return kept
    }

    /// The demo's codebook bits for fully connected layers (conv layers: 8, as in the paper). 5 bits for
    /// LeNet-300-100 (4 bits cost it ~0.05 % test error); 4 bits for LeNet-5, whose conv features leave
    /// the FC layers more slack.
    public var defaultFullyConnectedBits: Int { self == .lenet300 ? 5 : 4 }

    /// The demo's pruning defaults, measured in docs/deep-compression.md: rounds, retraining epochs per
    /// round and retraining learning rate (LeNet-5's are those of docs/pruning-results.md).
    public var defaultRounds: Int { self == .lenet300 ? 6 : 5 }
    public var defaultRetrainEpochs: Int { self == .lenet300 ? 4 : 3 }
    public var defaultRetrainLearningRate: Float { self == .lenet300 ? 0.01 : 0.02 }

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
    /// The last this fraction of the training images is held out of training as the validation split
    /// (0: no split; the rounds are then monitored on the training images themselves).
    public var validationFraction = 0.1

    public init(
      epochs: Int = 10, retrainEpochs: Int = 4, learningRate: Float = 0.05, retrainLearningRate: Float = 0.02,
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
  /// The last `validationFraction` of the training images, never trained on: rounds are monitored here.
  public let validation: ImageDataset
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
    let all = try MNIST.load(
      directory: dataDirectory, split: .train, limit: settings.trainLimit, classCount: 10, imageSize: [28, 28])
    if settings.validationFraction > 0 {
      (self.train, self.validation) = try all.validationSplit(fraction: settings.validationFraction)
    } else {
      (self.train, self.validation) = (all, all)
    }
    self.test = try MNIST.load(
      directory: dataDirectory, split: .test, limit: settings.testLimit, classCount: 10, imageSize: [28, 28])
    self.cacheDirectory = cacheDirectory
  }

  /// The checkpoint this configuration caches its dense model in.
  public var cachePath: String? {
    cacheDirectory.map {
      let limit = settings.trainLimit.map { "-n\($0)" } ?? ""
      // Trained without the validation split: a different model from one trained on all images.
      let held = settings.validationFraction > 0 ? "-v\(Int((100 * settings.validationFraction).rounded()))" : ""
      return ($0 as NSString).appendingPathComponent(
        "\(model.rawValue)-dense-e\(settings.epochs)-s\(settings.seed)\(limit)\(held).safetensors")
    }
  }

  public func denseModel() throws -> Graph {
    let fresh = model.graph(seed: settings.seed)
    if let path = cachePath, FileManager.default.fileExists(atPath: path) {
      onLog?("reusing the cached dense model \(path)")
      return try Checkpoint.load(path, into: fresh)
    }
    var graph = fresh
    var training = recovery(epochs: settings.epochs, learningRate: settings.learningRate)
    training.label = "dense training"
    try training.recover(&graph, round: 0)
    if let dir = cacheDirectory, let path = cachePath {
      try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
      try Checkpoint.save(graph, to: path)
      onLog?("cached the dense model in \(path)")
    }
    return graph
  }

  public func retrain(_ graph: inout Graph, round: Int) throws {
    var retraining = recovery(epochs: settings.retrainEpochs, learningRate: settings.retrainLearningRate)
    try retraining.recover(&graph, round: round)
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

  public func validationError(of graph: Graph) throws -> Double {
    Double(try Trainer.evaluate(graph: graph, on: validation).error)
  }

  /// The shared training loop, reporting to `onProgress` (every step) and `onLog` (every epoch).
  func recovery(epochs: Int, learningRate: Float) -> TrainerRecovery {
    var r = TrainerRecovery(
      data: train, epochs: epochs, learningRate: learningRate, batchSize: settings.batchSize,
      seed: settings.seed,
      log: onLog.map { log in { log($0.trimmingCharacters(in: .whitespaces)) } })
    r.onStep = onProgress
    return r
  }
}
