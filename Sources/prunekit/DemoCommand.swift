import ArgumentParser
import Foundation
import PruneKit

/// `prunekit demo`: the whole Deep Compression pipeline on the repository's MNIST copy, ending in
/// the paper's table (Han, Mao & Dally 2016, Table 1) beside PruneKit's measured row.
struct DemoCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "demo",
    abstract:
      "Train (or reuse) LeNet, prune with retraining, share weights, Huffman-code, write and evaluate "
      + "a .pkz.",
    discussion: """
      Stages: dense training (cached in --cache, reused on the next run), iterative magnitude pruning \
      (Han et al. 2015; the schedule of `prunekit prune --schedule iterative`) toward per-layer kept \
      fractions slightly below the paper's, with retraining after each round, \
      k-means weight sharing with linear initialisation, centroid fine-tuning, Huffman coding of cluster \
      indices and relative gaps, the .pkz written atomically, and the test error of the file as decoded \
      from disk. Every size is a file written at that stage, measured on disk. The rounds are \
      monitored on a validation split (the last 10% of the training images, never trained on); test \
      data is only reported. Then every stage file is evaluated (`prunekit eval`: accuracy, per-class \
      change, flips, robustness, latency, energy) and <output>/report.html written.

      Examples:
        prunekit demo
        prunekit demo --model lenet5
        prunekit demo --json > demo.json
        prunekit demo --train-limit 2000 --epochs 1 --rounds 1 -o /tmp/demo
      """)

  enum Model: String, ExpressibleByArgument, CaseIterable { case lenet300, lenet5 }

  @Option(help: "lenet300 (LeNet-300-100) or lenet5.") var model: Model = .lenet300
  @Option(help: "Codebook bits per layer kind (default: lenet300 fc=5,conv=8; lenet5 fc=4,conv=8).")
  var bits: String?
  @Option(name: .customLong("index-bits"), help: "Relative-gap bits per layer kind.") var indexBits: String =
    "fc=5,conv=4"
  @Option(parsing: .unconditional, help: "Dense training epochs.") var epochs: Int = 10
  @Option(
    name: .customLong("retrain-epochs"), parsing: .unconditional,
    help: "Retraining epochs after each pruning round (default: lenet300 4, lenet5 3).")
  var retrainEpochs: Int?
  @Option(
    name: .customLong("retrain-lr"), parsing: .unconditional,
    help: "Retraining learning rate, cosine to 0 each round (default: lenet300 0.01, lenet5 0.02).")
  var retrainLR: Float?
  @Option(parsing: .unconditional, help: "Pruning rounds (default: lenet300 6, lenet5 5).") var rounds: Int?
  @Option(
    help:
      "Kept fraction per layer after pruning, e.g. fc1.weight=0.08,fc2.weight=0.09 (default: see docs)."
  )
  var kept: String?
  @Option(name: .customLong("fine-tune-steps"), parsing: .unconditional, help: "Centroid fine-tuning mini-batches.")
  var fineTuneSteps = 600
  @Option(name: .customLong("fine-tune-lr"), parsing: .unconditional, help: "Centroid fine-tuning learning rate.")
  var fineTuneLR:
    Float = 1e-4
  @Flag(
    name: .customLong("fine-tune-cosine"), inversion: .prefixedNo,
    help: "Anneal the centroid learning rate to 0 over the steps (cosine).")
  var fineTuneCosine = true
  @OptionGroup var seeds: SeedOption
  var seed: UInt64 { seeds.seed }
  @OptionGroup var threads: ThreadsOption
  @OptionGroup var verbosity: VerbosityOptions
  @OptionGroup var format: JSONOption

  /// What `--json` prints: every stage's bytes on disk and test error, and the .pkz's layers.
  struct Output: Encodable {
    let model: String
    let denseBytes: Int
    let prunedBytes: Int
    let quantizedBytes: Int
    let huffmanBytes: Int
    let ratio: Double
    let denseError: Double
    let prunedError: Double
    let sharedError: Double
    let finalError: Double
    let kept: [String: Double]
    let path: String
    let wallSeconds: Double
    let compressed: InspectCommand.CompressedSizes
    /// The report page and the stages' run records, when written.
    let report: String?
    let runs: [RunRecord]?
  }
  @Option(help: "MNIST-format data folder (default: the repository's copy).") var data: String?
  @Option(help: "Folder caching the dense model between runs.") var cache: String = ".prunekit-cache"
  @Option(name: .shortAndLong, help: "Folder for the stage files and the final .pkz.") var output: String =
    "demo-output"
  @Flag(
    inversion: .prefixedNo,
    help: "Evaluate every stage file (test split) and write <output>/report.html and a run record per stage.")
  var report = true
  @Option(
    name: .customLong("train-limit"), parsing: .unconditional,
    help: "Use the first N training images only (quick runs).")
  var trainLimit: Int?

  func validate() throws {
    try OptionCheck.int(epochs, "--epochs", in: 1...OptionCheck.maxEpochs)
    try OptionCheck.int(retrainEpochs, "--retrain-epochs", in: 0...OptionCheck.maxEpochs)
    try OptionCheck.learningRate(retrainLR, "--retrain-lr")
    try OptionCheck.int(rounds, "--rounds", in: 1...1000)
    try OptionCheck.int(fineTuneSteps, "--fine-tune-steps", in: 0...10_000_000)
    try OptionCheck.learningRate(fineTuneLR, "--fine-tune-lr")
    try OptionCheck.int(trainLimit, "--train-limit", in: 1...Int(Int32.max))
    if let kept { _ = try PruneCommand.keptFractions(kept) }
  }

  func run() throws {
    let wall = Date()
    let kind: LeNetWorkbench.Model = model == .lenet300 ? .lenet300 : .lenet5
    var options = try CompressCommand.options(
      scheme: "kmeans", bits: bits ?? "fc=\(kind.defaultFullyConnectedBits),conv=8", indexBits: indexBits,
      huffman: true, minElements: 64)
    options.kmeansIterations = 30
    let folder = try data ?? MNIST.defaultDirectory(executablePath: CommandLine.arguments.first)
    let bench = try LeNetWorkbench(
      model: kind,
      settings: .init(
        epochs: epochs, retrainEpochs: retrainEpochs ?? kind.defaultRetrainEpochs,
        retrainLearningRate: retrainLR ?? kind.defaultRetrainLearningRate, seed: seed,
        trainLimit: trainLimit),
      dataDirectory: folder, cacheDirectory: cache)
    var bar: ProgressBar?
    var barLabel = ""
    bench.onProgress = { label, done, total, fields in
      if label != barLabel || bar == nil {
        bar = ProgressBar(total: total, label: label)
        barLabel = label
      }
      bar?.update(done: done, unitsDone: done * 64, unit: "img", fields: fields)
    }
    bench.onLog = { note($0) }
    let recipe = DeepCompressionRecipe(
      name: model.rawValue,
      keptFractions: try kept.map(PruneCommand.keptFractions) ?? kind.defaultKeptFractions,
      pruningRounds: rounds ?? kind.defaultRounds,
      compression: options,
      fineTuning: CentroidFineTuning(
        steps: fineTuneSteps, learningRate: fineTuneLR, momentum: 0.9, cosineDecay: fineTuneCosine),
      outputDirectory: output)
    note("data: \(folder); \(bench.train.count) training, \(bench.test.count) test images")
    let result = try recipe.run(bench) { note($0) }
    var reportPage: (records: [RunRecord], path: String)?
    if report {
      note("[report] evaluating every stage file on the test split beside the dense one")
      var evaluation = EvaluationOptions()
      evaluation.seed = seed
      evaluation.latencyRuns = 20
      evaluation.robustnessSamples = 1000
      let written = try DeepCompressionReport.write(
        recipe: recipe, result: result, data: folder, options: evaluation, progress: { note("      \($0)") })
      reportPage = (written.records, written.report)
      note("wrote \(written.report)")
    }
    if format.json {
      return try JSONOutput.print(
        Output(
          model: model.rawValue, denseBytes: result.denseBytes, prunedBytes: result.prunedBytes,
          quantizedBytes: result.quantizedBytes, huffmanBytes: result.huffmanBytes, ratio: result.ratio,
          denseError: result.denseError, prunedError: result.prunedError, sharedError: result.sharedError,
          finalError: result.finalError, kept: result.kept, path: result.path,
          wallSeconds: Date().timeIntervalSince(wall), compressed: InspectCommand.CompressedSizes(result.report),
          report: reportPage?.path, runs: reportPage?.records),
        command: "demo")
    }
    print(result.report.reportTable().text(rule: true))
    print(result.table(published: DeepCompressionResult.published[model.rawValue]).text(rule: true))
    if let (records, page) = reportPage {
      print(RunReport.factsTable(records).text(rule: true))
      print("report: \(page)")
    }
    print(String(format: "wall time %.1f s; final file %@", Date().timeIntervalSince(wall), result.path))
  }
}
