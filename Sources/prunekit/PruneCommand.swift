import ArgumentParser
import Foundation
import PruneKit

/// `prunekit prune MODEL …`: one-shot pruning (masks, N:M, blocks) or structured removal of
/// channels / attention heads, written as ONNX or safetensors.
struct PruneCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "prune",
    abstract: "Prune a model: unstructured, N:M, block masks, or remove channels/heads.",
    discussion: """
      Examples:
        prunekit prune model.onnx --method magnitude --scope global --sparsity 0.9 -o pruned.onnx
        prunekit prune model.onnx --pattern 2:4 -o sparse24.onnx
        prunekit prune model.onnx --structured channels --ratio 0.5 -o smaller.onnx
        prunekit prune minilm.onnx --structured heads --ratio 0.25 -o fewer-heads.onnx
      """)

  @Argument(help: "Model file (.onnx, .pkz).")
  var model: String

  @Option(help: ArgumentHelp("Importance criterion: \(CriterionRegistry.names.joined(separator: " | ")).", discussion: CriterionRegistry.help))
  var method: String = "magnitude"

  @Option(help: "Threshold scope for unstructured pruning: layer | global.")
  var scope: String = "layer"

  @Option(parsing: .unconditional, help: "Fraction of prunable weights to zero (unstructured and block patterns).")
  var sparsity: Double = 0.5

  @Option(help: "N:M semi-structured pattern along the input dimension, e.g. 2:4 or 4:8.")
  var pattern: String?

  @Option(help: "Block pattern RxC on the weight viewed as [out, rest], e.g. 1x4 or 4x4.")
  var block: String?

  @Option(help: "Remove structures physically: channels | heads.")
  var structured: String?

  @Option(parsing: .unconditional, help: "Fraction of each group's channels/heads to remove (with --structured).")
  var ratio: Double = 0.5

  @Option(help: "Training data for Taylor gradients (MNIST IDX directory).")
  var data: String?

  @Option(help: "Seed for random importance and data order.")
  var seed: UInt64 = 0

  @Option(
    help: """
      Schedule: oneshot | iterative (Han et al. 2015: prune by q·σ, retrain, repeat) | gradual (Zhu & Gupta \
      2017: prune while training, cubic sparsity ramp to --sparsity). iterative and gradual need --data.
      """)
  var schedule: String = "oneshot"

  @Option(parsing: .unconditional, help: "Iterative: prune→retrain rounds.") var rounds: Int = 3
  @Option(parsing: .unconditional, help: "Iterative: retraining epochs per round.") var retrainEpochs: Int = 2
  @Option(parsing: .unconditional, help: "Iterative: retraining learning rate (SGD, cosine).") var lr: Float = 0.01
  @Option(parsing: .unconditional, help: "Iterative with lenet300/lenet5: dense training epochs first.")
  var denseEpochs: Int = 10
  @Option(help: "Iterative: kept fraction per layer, e.g. fc1.weight=0.08,fc2.weight=0.09.") var kept: String?
  @Option(parsing: .unconditional, help: "Gradual: training epochs in all.") var epochs: Int = 10
  @Option(parsing: .unconditional, help: "Gradual: epochs over which the sparsity rises to --sparsity.")
  var rampEpochs: Int = 6
  @Option(parsing: .unconditional, help: "Gradual: mask updates per epoch during the ramp.")
  var updatesPerEpoch: Int = 10
  @Option(parsing: .unconditional, help: "Use the first N training images only (quick runs).") var limit: Int?

  // One-shot pruning of transformer encoders from calibration texts (wanda, sparsegpt; PruneOneShot.swift).
  @Option(help: "Calibration texts for wanda/sparsegpt: FILE.csv:COLUMN[:ROWS], ROWS e.g. 0..127.") var calib: String?
  @Option(help: "Per-layer sparsity with --calib: uniform | owl (outlier-weighted, Yin et al. 2024).")
  var allocation: String = "uniform"
  @Option(parsing: .unconditional, help: "OWL: Λ, the largest deviation of a layer's sparsity from --sparsity.")
  var owlLambda: Double = OneShotOptions().owlLambda
  @Option(parsing: .unconditional, help: "OWL: outlier threshold M (× the layer's mean Wanda score).")
  var owlThreshold: Double = OneShotOptions().owlThreshold
  @Option(parsing: .unconditional, help: "Calibration: tokens per text (longer texts are truncated).")
  var maxLength: Int = OneShotOptions().maxLength
  @Option(help: "Tokenizer folder (vocab.txt or tokenizer.json); default: beside the model.") var tokenizer: String?
  @Flag(help: "With --calib: prune a layer's Linears group by group, each from inputs through the already pruned ones.")
  var trueSequential = false
  @Option(help: "With --calib: sparsity offsets per Linear role, e.g. query=0.1,key=0.1 (roles: query, key, value, attention-output, up, down; centred per layer).")
  var roleOffsets: String?

  @Flag(help: "Print the coupled groups (structured).")
  var groups = false

  @Flag(help: "Print the summary as JSON.")
  var json = false

  @Option(name: [.short, .customLong("output")], help: "Output file (.onnx or .safetensors).")
  var output: String

  func validate() throws {
    try OptionCheck.number(sparsity, "--sparsity", in: 0...1, openUpper: true)
    try OptionCheck.number(ratio, "--ratio", in: 0...1, openUpper: true)
    try OptionCheck.int(rounds, "--rounds", in: 1...1000)
    try OptionCheck.int(retrainEpochs, "--retrain-epochs", in: 0...OptionCheck.maxEpochs)
    try OptionCheck.learningRate(lr, "--lr")
    try OptionCheck.int(denseEpochs, "--dense-epochs", in: 0...OptionCheck.maxEpochs)
    try OptionCheck.int(epochs, "--epochs", in: 1...OptionCheck.maxEpochs)
    try OptionCheck.int(rampEpochs, "--ramp-epochs", in: 0...epochs)
    try OptionCheck.int(updatesPerEpoch, "--updates-per-epoch", in: 1...100_000)
    try OptionCheck.int(limit, "--limit", in: 1...Int(Int32.max))
    if let kept { _ = try Self.keptFractions(kept) }
    try OptionCheck.output(output, inputs: [model], extensions: ModelFile.knownExtensions)
  }

  func run() throws {
    guard let m = PruneOptions.Method(rawValue: method) else {
      throw ValidationError("--method: one of \(CriterionRegistry.names.joined(separator: ", ")), found '\(method)'")
    }
    if try calib != nil || CriterionRegistry.named(method).needs == .calibration { return try runOneShot() }
    var options = PruneOptions()
    guard let s = PruningScope(rawValue: scope) else { throw ValidationError("--scope: layer or global") }
    options.method = m
    options.scope = s
    options.sparsity = sparsity
    options.ratio = ratio
    options.seed = seed
    if let pattern {
      guard let p = SparsityPattern(argument: pattern), case .nOfM = p else {
        throw ValidationError("--pattern N:M, e.g. 2:4")
      }
      options.pattern = p
    }
    if let block {
      guard let p = SparsityPattern(argument: block), case .block = p else {
        throw ValidationError("--block RxC, e.g. 4x4")
      }
      options.pattern = p
    }
    if let structured {
      guard let kind = PruneOptions.Structure(rawValue: structured) else {
        throw ValidationError("--structured channels or heads")
      }
      options.structure = kind
    }
    if schedule == "iterative" { return try runIterative() }
    if schedule == "gradual" { return try runGradual(scope: s) }
    guard schedule == "oneshot" else { throw ValidationError("--schedule: oneshot, iterative or gradual") }
    var graph = try ModelFile.loadAny(model)
    let gradients = try data.map { try PruneDataSources.gradientSource(for: graph, data: $0, seed: seed) }
    let summary = try PruneRecipe.prune(&graph, options: options, gradients: gradients)
    try PruneRecipe.save(graph, to: output)
    if json { return try printJSON(summary) }
    if groups { for g in summary.groups { print(g) } }
    print(Self.table(summary))
    if summary.widenedToFloat32 {
      print("note: the model stores float16/bfloat16/float64 values; it was pruned and is written as Float32")
    }
    if !summary.skipped.isEmpty {
      print("left dense (shape does not fit \(options.pattern)): \(summary.skipped.joined(separator: ", "))")
    }
    print("wrote \(output)")
  }

  /// Han et al. 2015 on MNIST: MODEL is lenet300 / lenet5 (trained dense here first) or a trained model file.
  func runIterative() throws {
    let (train, test) = try mnist()
    var graph = try startingModel(train: train)
    let kind = graph.initializers["conv1.weight"] != nil ? "lenet5" : "lenet300"
    var targets = IterativePruningRecipe.defaultKept(kind)
    if let kept { targets = try Self.keptFractions(kept) }
    let recovery = TrainerRecovery(data: train, epochs: retrainEpochs, learningRate: lr, seed: seed, log: note)
    var recipe = IterativePruningRecipe(kept: targets, rounds: rounds, recovery: recovery)
    let result = try recipe.run(&graph, test: test, log: note)
    try PruneRecipe.save(graph, to: output)
    if json { return try printJSON(result) }
    let paper = IterativePruningRecipe.paperKept(kind)
    print("layer           kept     paper (Han et al. 2015)")
    for name in result.kept.keys.sorted() {
      print(
        name.padding(toLength: 15, withPad: " ", startingAt: 0)
          + String(format: " %6.2f%%  %6.2f%%", 100 * result.kept[name]!, 100 * (paper[name] ?? 0)))
    }
    print(
      String(
        format: "pruned %.2f%% of the weights; test error dense %.2f%% → pruned+retrained %.2f%%; wrote %@",
        100 * result.prunedFraction, 100 * result.denseError, 100 * result.prunedError, output))
  }

  /// Parses `--kept fc1.weight=0.08,fc2.weight=0.09` (also used by `prunekit demo`).
  static func keptFractions(_ argument: String) throws -> [String: Double] {
    var targets = [String: Double]()
    for item in argument.split(separator: ",") {
      let parts = item.split(separator: "=")
      guard parts.count == 2, let f = Double(parts[1]), f > 0, f <= 1 else {
        throw ValidationError("--kept name=fraction,… with fractions in (0, 1], found '\(item)'")
      }
      targets[String(parts[0])] = f
    }
    return targets
  }

  static func table(_ s: PruneSummary) -> String {
    var lines = [
      "layer".padding(toLength: 36, withPad: " ", startingAt: 0) + "shape before → after              kept"
    ]
    for l in s.layers {
      let shapes = "\(l.shapeBefore) → \(l.shapeAfter)".padding(toLength: 34, withPad: " ", startingAt: 0)
      lines.append(
        String(l.name.prefix(35)).padding(toLength: 36, withPad: " ", startingAt: 0) + shapes
          + String(format: "%6.2f%%", 100 * l.kept))
    }
    lines.append(
      "parameters \(s.parametersBefore) → \(s.parametersAfter) (non-zero \(s.nonzeroAfter)); "
        + "MACs \(s.macsBefore) → \(s.macsAfter) (non-zero \(s.nonzeroMACsAfter))")
    return lines.joined(separator: "\n")
  }
}
