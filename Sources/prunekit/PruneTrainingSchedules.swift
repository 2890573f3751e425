import ArgumentParser
import Foundation
import PruneKit

/// The schedules of `prunekit prune` that train (iterative, gradual): data, the starting model, JSON.
extension PruneCommand {
  /// The MNIST-format training (first --limit images) and test splits of --data.
  func mnist() throws -> (train: ImageDataset, test: ImageDataset) {
    let folder = try PruneDataSources.folder(data)
    return (
      try MNIST.load(directory: folder, split: .train, limit: limit, classCount: 10, imageSize: [28, 28]),
      try MNIST.load(directory: folder, split: .test, classCount: 10, imageSize: [28, 28])
    )
  }

  /// MODEL lenet300 / lenet5: built from --seed and trained dense for --dense-epochs first; otherwise
  /// the trained model file.
  func startingModel(train: ImageDataset) throws -> Graph {
    guard model == "lenet300" || model == "lenet5" else { return try ModelFile.loadAny(model) }
    var graph = model == "lenet5" ? LeNet.lenet5(seed: seed) : LeNet.lenet300100(seed: seed)
    let denseEpochs = self.denseEpochs ?? 10
    note("training \(model) dense for \(denseEpochs) epochs on \(train.count) images")
    var dense = TrainerRecovery(
      data: train, epochs: denseEpochs, learningRate: 0.05, seed: seed, log: note, label: "dense training")
    try dense.recover(&graph, round: 0)
    return graph
  }

  func printJSON(_ value: some Encodable) throws {
    try JSONOutput.print(value, command: "prune")
  }

  /// Zhu & Gupta 2017: magnitude masks tightened along the cubic schedule while training.
  func runGradual(scope: PruningScope) throws {
    let (train, test) = try mnist()
    var graph = try startingModel(train: train)
    let recipe = GradualPruningRecipe(
      finalSparsity: sparsity ?? 0.5, epochs: epochs ?? 10, rampEpochs: rampEpochs ?? 6,
      updatesPerEpoch: updatesPerEpoch ?? 10, learningRate: lr ?? 0.01, seed: seed, scope: scope)
    let result = try recipe.run(&graph, train: train, test: test, log: note)
    try PruneRecipe.save(graph, to: output)
    if json { return try printJSON(result) }
    print(
      ReportTable(
        columns: ["layer", "kept"],
        rows: result.kept.keys.sorted().map { [$0, String(format: "%.2f%%", 100 * result.kept[$0]!)] }
      ).text(), terminator: "")
    print(
      String(
        format: "gradual pruning to %.2f%% sparsity in %d mask updates; test error %.2f%% → %.2f%%; wrote %@",
        100 * result.sparsity, result.updates.count, 100 * result.errorBefore, 100 * result.errorAfter, output))
  }
}
