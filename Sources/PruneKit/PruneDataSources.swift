import Foundation
import ModelGraph
import Pruning
import Training

/// The glue that lets Training serve the Pruning protocols (Pruning never imports Training):
/// retraining with masks held (`Recovery`), gradients (`GradientSource`, for Taylor and movement),
/// accuracy on held-out data (`Evaluator`).

/// Retrains with the masks held: a fresh `Trainer` each round (SGD with momentum, cosine schedule).
public struct TrainerRecovery: Recovery {
  public var data: ImageDataset
  public var epochs: Int
  public var learningRate: Float
  public var batchSize: Int
  public var seed: UInt64
  /// Told one line per epoch.
  public var log: ((String) -> Void)?
  /// Shown before "epoch N" in the log; default "retrain round R".
  public var label: String?
  /// Told after every mini-batch: (phase and epoch, steps done in the epoch, steps per epoch,
  /// "loss … acc …" so far in the epoch). For progress bars.
  public var onStep: ((String, Int, Int, String) -> Void)?

  public init(
    data: ImageDataset, epochs: Int, learningRate: Float = 0.01, batchSize: Int = 64, seed: UInt64 = 1,
    log: ((String) -> Void)? = nil, label: String? = nil
  ) {
    self.data = data
    self.label = label
    self.epochs = epochs
    self.learningRate = learningRate
    self.batchSize = batchSize
    self.seed = seed
    self.log = log
  }

  public mutating func recover(_ graph: inout Graph, round: Int) throws {
    guard epochs > 0 else { return }
    let optimizer = SGD(learningRate: learningRate, momentum: 0.9, nesterov: true, weightDecay: 5e-4)
    let trainer = try Trainer(
      graph: graph, optimizer: optimizer,
      configuration: TrainingConfiguration(
        batchSize: batchSize, schedule: .cosine(minimumFactor: 0), seed: seed &+ UInt64(round) &* 1000))
    let phase = label ?? "retrain round \(round + 1)"
    let (onStep, batchSize, epochs) = (self.onStep, self.batchSize, self.epochs)
    let steps = (data.count + batchSize - 1) / batchSize
    for epoch in 0..<epochs {
      var (lossSum, correct, seen) = (0.0, 0, 0)
      let report = try trainer.train(on: data, epochs: 1, startEpoch: epoch, totalEpochs: epochs) { step in
        guard let onStep else { return }
        lossSum += Double(step.loss) * Double(step.count)
        correct += step.correct
        seen += step.count
        onStep(
          "\(phase) epoch \(epoch + 1)/\(epochs)", (seen + batchSize - 1) / batchSize, steps,
          String(format: "loss %.4f acc %.2f%%", lossSum / Double(seen), 100 * Double(correct) / Double(seen))
        )
      }[0]
      log?(
        "  \(phase) "
          + String(
            format: "epoch %d: loss %.4f, train acc %.2f%%, %.0f s", epoch + 1, report.loss,
            100 * report.accuracy, report.seconds))
    }
    let masks = graph.masks
    graph = trainer.graph
    graph.masks = masks
  }
}

/// Mean ∂L/∂w over `batches` seeded mini-batches of `data`.
public struct TrainerGradientSource: GradientSource {
  public var data: ImageDataset
  public var batches: Int
  public var batchSize: Int
  public var seed: UInt64

  public init(data: ImageDataset, batches: Int = 8, batchSize: Int = 128, seed: UInt64 = 0) {
    self.data = data
    self.batches = batches
    self.batchSize = batchSize
    self.seed = seed
  }

  public mutating func gradients(of graph: Graph, for parameters: [String]) throws -> [String: Tensor] {
    let trainer = try Trainer(graph: graph, optimizer: SGD(learningRate: 0))
    let order = data.batches(size: batchSize, shuffleSeed: seed, dropLast: false).prefix(batches)
    var sums: [String: [Float]] = [:]
    for indices in order {
      let g = try trainer.gradients(on: data.batch(indices), training: false).gradients
      for (i, name) in trainer.parameters.names.enumerated() {
        if sums[name] == nil {
          sums[name] = g[i]
        } else {
          for j in 0..<g[i].count { sums[name]![j] += g[i][j] }
        }
      }
    }
    var result: [String: Tensor] = [:]
    let scale = 1 / Float(max(order.count, 1))
    for name in parameters {
      guard let sum = sums[name], let shape = graph.initializers[name]?.shape else { continue }
      result[name] = Tensor(shape: shape, floats: sum.map { $0 * scale })
    }
    return result
  }
}

/// Top-1 accuracy on `data` (evaluation mode).
public struct DatasetEvaluator: Evaluator {
  public var data: ImageDataset
  public init(data: ImageDataset) { self.data = data }
  public mutating func evaluate(_ graph: Graph) throws -> Double {
    Double(try Trainer.evaluate(graph: graph, on: data).accuracy)
  }
}

/// Data-backed sources for pruning built from a `--data` argument (an MNIST-format IDX folder).
public enum PruneDataSources {
  /// Gradients over the training split at `data` ("default" = the repository's MNIST copy).
  public static func gradientSource(for graph: Graph, data: String, seed: UInt64) throws -> any GradientSource
  {
    TrainerGradientSource(
      data: try MNIST.load(directory: folder(data), split: .train, limit: 4096), seed: seed)
  }

  public static func folder(_ data: String?) throws -> String {
    if let data, data != "default" { return data }
    return try MNIST.defaultDirectory(executablePath: CommandLine.arguments.first)
  }
}
