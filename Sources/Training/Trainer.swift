import ModelGraph
import Runtime
import TensorCore

/// Labelled examples a `Trainer` draws mini-batches from.
public protocol LabeledDataset: Sendable {
  var count: Int { get }
  /// The examples at `indices`: inputs with the batch as first axis, labels 0-based.
  func batch(_ indices: [Int]) -> Batch
}

extension ImageDataset: LabeledDataset {
  public func batch(_ indices: [Int]) -> Batch { batch(indices[...]) }
}

/// How a `Trainer` runs.
public struct TrainingConfiguration: Sendable {
  public var batchSize: Int
  public var schedule: LearningRateSchedule
  /// Seeds the per-epoch shuffle (seed + epoch) and Dropout (seed + step).
  public var seed: UInt64
  public init(batchSize: Int = 64, schedule: LearningRateSchedule = .constant, seed: UInt64 = 0) {
    self.batchSize = batchSize
    self.schedule = schedule
    self.seed = seed
  }
}

/// What one optimisation step saw. `gradients[i]` belongs to `parameters.names[i]` (masked entries 0).
public struct StepReport: Sendable {
  public var epoch: Int
  public var step: Int
  public var stepsPerEpoch: Int
  public var totalSteps: Int
  public var loss: Float
  public var correct: Int
  public var count: Int
  public var learningRate: Float
  public var gradients: [[Float]]
}

public struct EpochReport: Sendable, Codable {
  public var epoch: Int
  public var loss: Float
  public var accuracy: Float
  public var seconds: Double
}

public struct EvaluationResult: Sendable {
  public var loss: Float
  public var correct: Int
  public var count: Int
  public var predictions: [Int]
  public var accuracy: Float { count == 0 ? 0 : Float(correct) / Float(count) }
  public var error: Float { 1 - accuracy }
}

/// Trains a classification `Graph` (one input, one logits output [N, classes]) with softmax
/// cross-entropy. Masks in `graph.masks` are held: masked weights stay exactly 0.
///
/// Usable piecewise by pruning and compression: `gradients(on:)` for Taylor importance or centroid
/// fine-tuning, `onStep` for movement scores, `step(on:learningRate:)` for custom loops.
public final class Trainer {
  public private(set) var baseGraph: Graph
  public var parameters: ParameterSet
  public var optimizer: any Optimizer
  public var configuration: TrainingConfiguration
  /// Called after every optimisation step with its report and the updated parameters.
  public var onStep: ((StepReport, ParameterSet) -> Void)?
  public let inputName: String
  public let outputName: String
  public private(set) var globalStep = 0
  /// The graph's executor with the parameters as inputs, built once.
  public let differentiable: DifferentiableGraph

  public init(graph: Graph, optimizer: any Optimizer, configuration: TrainingConfiguration = .init())
    throws
  {
    guard let input = graph.inputs.first, let output = graph.outputs.first else {
      throw TrainingError.invalidArgument(
        what: "graph '\(graph.name)'", message: "needs an input and an output")
    }
    self.baseGraph = graph
    self.parameters = try ParameterSet(graph: graph)
    self.differentiable = try DifferentiableGraph(graph: graph, parameters: parameters.names)
    self.optimizer = optimizer
    self.configuration = configuration
    self.inputName = input.name
    self.outputName = output.name
  }

  /// The graph with the current weights and BatchNorm statistics (masks kept in `graph.masks`).
  public var graph: Graph {
    var g = baseGraph
    parameters.write(into: &g)
    return g
  }

  /// Loss, correct count and dLoss/dParameter (masked entries zeroed) on one batch, without
  /// updating anything (weights, BatchNorm running statistics). `training` selects BatchNorm/Dropout
  /// mode. For Taylor importance, centroid fine-tuning or custom loops.
  public func gradients(on batch: Batch, training: Bool = true, seed: UInt64 = 0) throws -> (
    loss: Float, correct: Int, gradients: [[Float]]
  ) {
    let result = try pass(on: batch, training: training, seed: seed)
    return (result.loss, result.correct, result.gradients)
  }

  /// Forward + backward on one batch; also returns the new BatchNorm running statistics.
  private func pass(on batch: Batch, training: Bool, seed: UInt64) throws -> (
    loss: Float, correct: Int, gradients: [[Float]], stateUpdates: [String: Tensor]
  ) {
    var feed = parameters.tensors()
    for name in differentiable.stateNames { feed[name] = baseGraph.initializers[name] }
    let pass = try differentiable.forward(
      [inputName: batch.inputs], parameters: feed,
      context: ForwardContext(training: training, seed: seed, inputGradients: false))
    guard let logits = pass.value(outputName) else {
      throw TrainingError.missingValue(node: "graph output", name: outputName)
    }
    let (loss, dLogits, correct) = try Loss.softmaxCrossEntropy(logits: logits, labels: batch.labels)
    let grads = try pass.backward(seeds: [outputName: dLogits])
    var result: [[Float]] = []
    for (i, name) in parameters.names.enumerated() {
      var g = grads[name]?.floats ?? [Float](repeating: 0, count: parameters.values[i].count)
      if let mask = parameters.masks[i] { for j in 0..<g.count where mask[j] == 0 { g[j] = 0 } }
      result.append(g)
    }
    return (loss, correct, result, pass.stateUpdates)
  }

  /// One optimisation step on `batch` at `learningRate`.
  @discardableResult
  public func step(
    on batch: Batch, learningRate: Float, epoch: Int = 0, stepsPerEpoch: Int = 1, totalSteps: Int = 1
  )
    throws -> StepReport
  {
    let (loss, correct, grads, state) = try pass(
      on: batch, training: true, seed: configuration.seed &+ 0x5EED &+ UInt64(globalStep))
    guard loss.isFinite else { throw TrainingError.nonFiniteLoss(step: globalStep, epoch: epoch, loss: loss) }
    optimizer.update(&parameters, gradients: grads, learningRate: learningRate)
    for (name, value) in state { baseGraph.setInitializer(name, value) }
    let report = StepReport(
      epoch: epoch, step: globalStep, stepsPerEpoch: stepsPerEpoch, totalSteps: totalSteps, loss: loss,
      correct: correct, count: batch.labels.count, learningRate: learningRate, gradients: grads)
    globalStep += 1
    onStep?(report, parameters)
    return report
  }

  /// Trains for `epochs` epochs over `data`, each shuffled by `configuration.seed + epoch`.
  /// A run split over several calls passes `startEpoch` (0-based) and `totalEpochs` so that the
  /// schedule and shuffling continue where they stopped. `progress` is called after each step.
  @discardableResult
  public func train(
    on data: some LabeledDataset, epochs: Int, startEpoch: Int = 0, totalEpochs: Int? = nil,
    progress: ((StepReport) -> Void)? = nil
  ) throws -> [EpochReport] {
    let batchSize = configuration.batchSize
    guard data.count > 0 else {
      throw TrainingError.invalidArgument(what: "training data", message: "no examples (an empty data set)")
    }
    guard batchSize > 0, epochs >= 0, startEpoch >= 0 else {
      throw TrainingError.invalidArgument(
        what: "training", message: "batch size \(batchSize) and epochs \(epochs) must be positive")
    }
    let stepsPerEpoch = data.count / batchSize + (data.count % batchSize == 0 ? 0 : 1)
    let (totalSteps, overflow) = stepsPerEpoch.multipliedReportingOverflow(
      by: totalEpochs ?? (startEpoch + epochs))
    guard !overflow else {
      throw TrainingError.invalidArgument(what: "epochs", message: "\(totalEpochs ?? epochs) is too many")
    }
    var reports: [EpochReport] = []
    for epoch in startEpoch..<(startEpoch + epochs) {
      let clock = ContinuousClock.now
      var order = Array(0..<data.count)
      seededShuffle(&order, seed: configuration.seed &+ UInt64(epoch))
      var scheduleStep = epoch * stepsPerEpoch
      var lossSum: Double = 0, correct = 0, seen = 0
      var start = 0
      while start < order.count {
        let end = order.count - start <= batchSize ? order.count : start + batchSize
        let indices = Array(order[start..<end])
        start = end
        let rate = configuration.schedule.rate(
          base: optimizer.learningRate, epoch: epoch, step: scheduleStep, totalSteps: totalSteps)
        scheduleStep += 1
        let report = try step(
          on: data.batch(indices), learningRate: rate, epoch: epoch, stepsPerEpoch: stepsPerEpoch,
          totalSteps: totalSteps)
        lossSum += Double(report.loss) * Double(report.count)
        correct += report.correct
        seen += report.count
        progress?(report)
      }
      let elapsed = clock.duration(to: .now)
      let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
      reports.append(
        EpochReport(
          epoch: epoch, loss: Float(lossSum / Double(max(seen, 1))),
          accuracy: Float(correct) / Float(max(seen, 1)), seconds: seconds))
    }
    return reports
  }

  /// Loss and accuracy in evaluation mode (BatchNorm running stats, no Dropout), in file order.
  public func evaluate(on data: some LabeledDataset, batchSize: Int = 100) throws -> EvaluationResult {
    try Trainer.evaluate(graph: graph, on: data, batchSize: batchSize)
  }

  /// Evaluates any classification graph (first input → first output logits).
  public static func evaluate(graph: Graph, on data: some LabeledDataset, batchSize: Int = 100) throws
    -> EvaluationResult
  {
    guard let input = graph.inputs.first?.name, let output = graph.outputs.first?.name else {
      throw TrainingError.invalidArgument(
        what: "graph '\(graph.name)'", message: "needs an input and an output")
    }
    guard batchSize > 0 else {
      throw TrainingError.invalidArgument(what: "evaluation batch size", message: "\(batchSize) must be positive")
    }
    var lossSum: Double = 0, correct = 0
    var predictions: [Int] = []
    var start = 0
    let executor: Executor
    do {
      executor = try Executor(graph: graph)
    } catch let error as ModelGraphError {
      throw TrainingError.graph(error.description)
    }
    while start < data.count {
      let end = data.count - start <= batchSize ? data.count : start + batchSize
      let batch = data.batch(Array(start..<end))
      start = end
      let outputs: [String: Tensor]
      do {
        outputs = try executor.run([input: batch.inputs])
      } catch let error as ModelGraphError {
        throw TrainingError.graph(error.description)
      }
      guard let logits = outputs[output] else {
        throw TrainingError.missingValue(node: "graph output", name: output)
      }
      let (loss, _, c) = try Loss.softmaxCrossEntropy(logits: logits, labels: batch.labels)
      lossSum += Double(loss) * Double(batch.labels.count)
      correct += c
      let k = logits.shape[1], z = logits.floats
      for row in 0..<batch.labels.count {
        var best = 0
        for j in 1..<k where z[row * k + j] > z[row * k + best] { best = j }
        predictions.append(best)
      }
    }
    return EvaluationResult(
      loss: Float(lossSum / Double(max(data.count, 1))), correct: correct, count: data.count,
      predictions: predictions)
  }
}

/// Movement scores (Sanh et al. 2020, eq. 4): S = −Σ_t (∂L/∂W)·W, accumulated over the steps it sees.
/// Attach with `trainer.onStep = { report, params in scores.accumulate(report, params) }`.
public final class MovementScores: @unchecked Sendable {
  public private(set) var scores: [String: [Float]] = [:]

  public init() {}

  public func accumulate(_ report: StepReport, _ parameters: ParameterSet) {
    for (i, name) in parameters.names.enumerated() {
      var s = scores[name] ?? [Float](repeating: 0, count: parameters.values[i].count)
      let g = report.gradients[i], w = parameters.values[i]
      for j in 0..<s.count { s[j] -= g[j] * w[j] }
      scores[name] = s
    }
  }

  /// The scores as tensors shaped like their weights.
  public func tensors(shapes parameters: ParameterSet) -> [String: Tensor] {
    var result: [String: Tensor] = [:]
    for (i, name) in parameters.names.enumerated() {
      if let s = scores[name] { result[name] = Tensor(shape: parameters.shapes[i], floats: s) }
    }
    return result
  }
}
