import Foundation
import ModelGraph
import Pruning
import Training

/// Gradual pruning while training (Zhu & Gupta 2017, "To prune, or not to prune", §3): the masks are
/// recomputed by weight magnitude every Δt steps, the sparsity following the cubic schedule
///
///     s_t = s_f + (0 − s_f) · (1 − t / (n·Δt))³
///
/// over the first `rampEpochs` epochs; the remaining epochs train with the final masks held. Pruned
/// weights stay exactly zero (and so do their gradients and momentum) between updates; a weight
/// pruned once is never revived (masks only shrink). SGD with Nesterov momentum 0.9, weight decay
/// 5e-4 and a cosine learning rate over all epochs, as the other recipes use.
public struct GradualPruningRecipe {
  public var finalSparsity: Double
  /// Training epochs in all.
  public var epochs: Int
  /// Epochs over which the sparsity rises to `finalSparsity` (≤ epochs).
  public var rampEpochs: Int
  /// Mask updates per epoch during the ramp (Δt = steps per epoch / this).
  public var updatesPerEpoch: Int
  public var learningRate: Float
  public var batchSize: Int
  public var seed: UInt64
  public var scope: PruningScope
  public var selection: PrunableSelection

  public init(
    finalSparsity: Double, epochs: Int = 10, rampEpochs: Int = 6, updatesPerEpoch: Int = 10,
    learningRate: Float = 0.01, batchSize: Int = 64, seed: UInt64 = 1, scope: PruningScope = .layer,
    selection: PrunableSelection = .default
  ) {
    self.finalSparsity = finalSparsity
    self.epochs = epochs
    self.rampEpochs = rampEpochs
    self.updatesPerEpoch = updatesPerEpoch
    self.learningRate = learningRate
    self.batchSize = batchSize
    self.seed = seed
    self.scope = scope
    self.selection = selection
  }

  public struct Point: Codable, Sendable, Equatable {
    public var step: Int
    public var sparsity: Double
  }

  public struct Result: Codable, Sendable {
    public var errorBefore: Double
    public var errorAfter: Double
    /// Fraction of the selected weights that are zero at the end.
    public var sparsity: Double
    public var kept: [String: Double]
    /// Each mask update: training step and the schedule's sparsity.
    public var updates: [Point]
  }

  /// The schedule for `stepsPerEpoch` mini-batches an epoch.
  public func schedule(stepsPerEpoch: Int) -> CubicSparsitySchedule {
    let frequency = max(1, stepsPerEpoch / max(updatesPerEpoch, 1))
    let rampSteps = max(1, rampEpochs * stepsPerEpoch)
    return CubicSparsitySchedule(
      finalSparsity: finalSparsity, startStep: 0, frequency: frequency, updates: max(1, rampSteps / frequency))
  }

  public func run(
    _ graph: inout Graph, train: ImageDataset, test: ImageDataset, log: @escaping (String) -> Void = { _ in }
  ) throws -> Result {
    guard finalSparsity >= 0, finalSparsity < 1 else {
      throw PruningError.invalidArgument(what: "final sparsity", expected: "in [0, 1)", found: "\(finalSparsity)")
    }
    guard epochs > 0, rampEpochs > 0, rampEpochs <= epochs, updatesPerEpoch > 0 else {
      throw PruningError.invalidArgument(
        what: "gradual epochs", expected: "0 < ramp epochs ≤ epochs, updates per epoch > 0",
        found: "epochs \(epochs), ramp \(rampEpochs), updates \(updatesPerEpoch)")
    }
    let names = selection.parameters(in: graph)
    let errorBefore = 1 - Double(try Trainer.evaluate(graph: graph, on: test).accuracy)
    log(String(format: "test error before %.2f%%", 100 * errorBefore))
    let trainer = try Trainer(
      graph: graph,
      optimizer: SGD(learningRate: learningRate, momentum: 0.9, nesterov: true, weightDecay: 5e-4),
      configuration: TrainingConfiguration(batchSize: batchSize, schedule: .cosine(minimumFactor: 0), seed: seed))
    let stepsPerEpoch = (train.count + batchSize - 1) / batchSize
    var pruner = GradualPruner(
      schedule: schedule(stepsPerEpoch: stepsPerEpoch),
      builder: MaskBuilder(criterion: MagnitudeImportance(), scope: scope), selection: selection)
    var masks = graph.masks
    var failure: Error?
    // After each optimiser step t (1-based): at update steps, new masks from the current weights.
    func update(afterStep step: Int) {
      guard failure == nil, pruner.schedule.isUpdateStep(step) else { return }
      do {
        var g = trainer.graph
        g.masks = masks
        try pruner.step(&g, step: step)
        masks = g.masks
        trainer.parameters = try ParameterSet(graph: g)
      } catch {
        failure = error
      }
    }
    for epoch in 0..<epochs {
      let report = try trainer.train(on: train, epochs: 1, startEpoch: epoch, totalEpochs: epochs) { step in
        update(afterStep: step.step + 1)
      }[0]
      if let failure { throw failure }
      var g = trainer.graph
      g.masks = masks
      log(
        String(
          format: "epoch %d/%d: loss %.4f, train acc %.2f%%, sparsity %.2f%%, %.0f s", epoch + 1, epochs,
          report.loss, 100 * report.accuracy, 100 * g.sparsity(of: names), report.seconds))
    }
    graph = trainer.graph
    graph.masks = masks
    let errorAfter = 1 - Double(try Trainer.evaluate(graph: graph, on: test).accuracy)
    log(String(format: "test error after %.2f%%", 100 * errorAfter))
    return Result(
      errorBefore: errorBefore, errorAfter: errorAfter, sparsity: graph.sparsity(of: names),
      kept: graph.keptFractions(of: names),
      updates: pruner.history.map { Point(step: $0.step, sparsity: $0.sparsity) })
  }
}
