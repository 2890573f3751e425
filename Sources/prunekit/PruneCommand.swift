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
      One-shot pruning (the default --schedule) zeroes --sparsity of the prunable weights by \
      --method, per layer or with one global threshold (--scope), optionally in an N:M (--pattern) \
      or block (--block) pattern. --structured removes whole channels or attention heads instead: \
      --ratio of each coupled group goes and the model gets physically smaller. --schedule \
      iterative and gradual prune while retraining on MNIST-format --data. An option that does not \
      apply to the chosen mode is an error, not ignored.

      Examples:
        prunekit prune model.onnx --scope global --sparsity 0.9 -o pruned.onnx
        prunekit prune model.onnx --pattern 2:4 -o sparse24.onnx
        prunekit prune model.onnx --structured channels --print-groups -o s.onnx
        prunekit prune minilm-folder --structured heads --ratio 0.25 -o out-folder
        prunekit prune folder --structured heads --ignore encoder.layer.0 -o out
        prunekit prune m.onnx --structured channels --target-macs 0.5 -o r.onnx
        prunekit prune lenet300 --schedule iterative --data Data/mnist -o p.onnx
        prunekit prune lenet5.onnx --plan plan.json -o planned.onnx
      """)

  @Argument(help: "Model file (.onnx, .safetensors, Hugging Face folder, .pkz); lenet300/lenet5 with --schedule.")
  var model: String

  @Option(help: ArgumentHelp(
    "Importance criterion: \(CriterionRegistry.names.joined(separator: " | ")) (default magnitude).",
    discussion: CriterionRegistry.help))
  var method: String?

  @Option(help: "Threshold scope for unstructured pruning: layer | global (default layer).")
  var scope: String?

  @Option(
    parsing: .unconditional,
    help: "Fraction of prunable weights to zero (unstructured, N:M-free and block; default 0.5).")
  var sparsity: Double?

  @Option(help: "N:M semi-structured pattern along the input dimension, e.g. 2:4 or 4:8.")
  var pattern: String?

  @Option(help: "Block pattern RxC on the weight viewed as [out, rest], e.g. 1x4 or 4x4.")
  var block: String?

  @Option(help: "Remove structures physically: channels | heads.")
  var structured: String?

  @Option(
    parsing: .unconditional,
    help: "With --structured: fraction of each group's channels/heads to remove (default 0.5).")
  var ratio: Double?

  @Option(
    parsing: .unconditional,
    help: "With --structured: remove this fraction of all parameters (same ratio in every group, by bisection).")
  var targetParams: Double?

  @Option(
    parsing: .unconditional,
    help: "With --structured: remove this fraction of all MACs (same ratio in every group, by bisection).")
  var targetMacs: Double?

  @Option(
    parsing: .upToNextOption,
    help: "Layers never pruned: node or weight names, or a module prefix (encoder.layer.0).")
  var ignore: [String] = []

  @Option(help: "Training data (MNIST IDX folder): Taylor gradients, or the iterative/gradual schedules.")
  var data: String?

  @OptionGroup var seeds: SeedOption
  var seed: UInt64 { seeds.seed }

  @Option(
    help: """
      Schedule: oneshot | iterative (Han et al. 2015: prune by q·σ, retrain, repeat) | gradual (Zhu & Gupta \
      2017: prune while training, cubic sparsity ramp to --sparsity). iterative and gradual need --data.
      """)
  var schedule: String = "oneshot"

  @Option(parsing: .unconditional, help: "Iterative: prune→retrain rounds (default 3).") var rounds: Int?
  @Option(parsing: .unconditional, help: "Iterative: retraining epochs per round (default 2).")
  var retrainEpochs: Int?
  @Option(parsing: .unconditional, help: "Iterative and gradual: learning rate (SGD, cosine; default 0.01).")
  var lr: Float?
  @Option(parsing: .unconditional, help: "Iterative/gradual from lenet300/lenet5: dense epochs first (default 10).")
  var denseEpochs: Int?
  @Option(help: "Iterative: kept fraction per layer, e.g. fc1.weight=0.08,fc2.weight=0.09.") var kept: String?
  @Option(parsing: .unconditional, help: "Gradual: training epochs in all (default 10).") var epochs: Int?
  @Option(parsing: .unconditional, help: "Gradual: epochs over which the sparsity rises (default 6).")
  var rampEpochs: Int?
  @Option(parsing: .unconditional, help: "Gradual: mask updates per epoch during the ramp (default 10).")
  var updatesPerEpoch: Int?
  @Option(parsing: .unconditional, help: "Iterative and gradual: first N training images only.") var limit: Int?

  @Option(help: "Apply a hardware-aware plan from `prunekit plan` (then re-measure; --data: its images).")
  var plan: String?

  @Flag(name: [.customLong("print-groups"), .customLong("groups")], help: "Print the coupled groups (structured).")
  var printGroups = false

  // One-shot pruning of transformer encoders from calibration texts (wanda, sparsegpt; PruneOneShot.swift).
  @Option(help: "Calibration texts for wanda/sparsegpt: FILE.csv:COLUMN[:ROWS], ROWS e.g. 0..127.") var calib: String?
  @Option(help: "Per-layer sparsity with --calib: uniform | owl (outlier-weighted, Yin et al. 2024; default uniform).")
  var allocation: String?
  @Option(parsing: .unconditional, help: "OWL: Λ, the largest deviation of a layer's sparsity from --sparsity.")
  var owlLambda: Double?
  @Option(parsing: .unconditional, help: "OWL: outlier threshold M (× the layer's mean Wanda score).")
  var owlThreshold: Double?
  @Option(parsing: .unconditional, help: "With --calib: tokens per text, longer texts truncated (default 128).")
  var maxLength: Int?
  @Option(help: "Tokenizer folder (vocab.txt or tokenizer.json); default: beside the model.") var tokenizer: String?
  @Flag(help: "With --calib: prune a layer's Linears group by group, each from inputs through the pruned ones.")
  var trueSequential = false
  @Option(help: "With --calib: sparsity offsets per Linear role, e.g. query=0.1,key=0.1 (centred per layer).")
  var roleOffsets: String?

  @OptionGroup var format: JSONOption
  var json: Bool { format.json }

  @OptionGroup var verbosity: VerbosityOptions
  @OptionGroup var threads: ThreadsOption

  @Option(
    name: .shortAndLong,
    help: "Output: .onnx, .safetensors, or a folder name (no extension) for a Hugging Face folder input.")
  var output: String

  /// `--method`, or the default criterion.
  var methodName: String { method ?? "magnitude" }

  /// What the chosen criterion is built from (nil for a name the registry does not have).
  var criterionNeeds: CriterionEntry.Needs? { (try? CriterionRegistry.named(methodName))?.needs }

  /// A Hugging Face folder in, a folder name (no extension) out.
  var writesFolder: Bool { (output as NSString).pathExtension.isEmpty }

  /// Writes the pruned model to `output`: a Hugging Face folder (config.json, model.safetensors,
  /// tokenizer files) for a folder name, else the format the extension names.
  func save(_ graph: Graph, prunedHeads: [Int: [Int]] = [:]) throws {
    if writesFolder {
      try HuggingFaceFolder.write(graph, to: output, source: model, prunedHeads: prunedHeads)
    } else {
      try PruneRecipe.save(graph, to: output)
    }
  }

  func validate() throws {
    try OptionCheck.number(sparsity, "--sparsity", in: 0...1, openUpper: true)
    try OptionCheck.number(ratio, "--ratio", in: 0...1, openUpper: true)
    try OptionCheck.number(targetParams, "--target-params", in: 0...1, openUpper: true)
    try OptionCheck.number(targetMacs, "--target-macs", in: 0...1, openUpper: true)
    try OptionCheck.int(rounds, "--rounds", in: 1...1000)
    try OptionCheck.int(retrainEpochs, "--retrain-epochs", in: 0...OptionCheck.maxEpochs)
    try OptionCheck.learningRate(lr, "--lr")
    try OptionCheck.int(denseEpochs, "--dense-epochs", in: 0...OptionCheck.maxEpochs)
    try OptionCheck.int(epochs, "--epochs", in: 1...OptionCheck.maxEpochs)
    try OptionCheck.int(rampEpochs, "--ramp-epochs", in: 0...(epochs ?? 10))
    try OptionCheck.int(updatesPerEpoch, "--updates-per-epoch", in: 1...100_000)
    try OptionCheck.int(limit, "--limit", in: 1...Int(Int32.max))
    if let kept { _ = try Self.keptFractions(kept) }
    try checkCombinations()
    if writesFolder {
      var isFolder: ObjCBool = false
      guard FileManager.default.fileExists(atPath: model, isDirectory: &isFolder), isFolder.boolValue else {
        throw ValidationError(
          "-o \(output): a folder output (no extension) needs a Hugging Face folder as the model; "
            + "expected a .onnx or .safetensors file name")
      }
      if let reason = OutputPath.problem(output + ".check", inputs: [model]) {
        throw ValidationError("-o \(output): cannot write (\(reason))")
      }
    } else {
      try OptionCheck.output(output, inputs: [model], extensions: ModelFile.knownExtensions)
    }
  }

  /// Options that the chosen mode would not use are errors (never silently ignored).
  func checkCombinations() throws {
    if plan != nil { return try checkPlanCombinations() }
    guard ["oneshot", "iterative", "gradual"].contains(schedule) else {
      throw ValidationError("--schedule \(schedule): expected oneshot, iterative or gradual")
    }
    if let method, PruneOptions.Method(rawValue: method) == nil {
      let known = CriterionRegistry.names.joined(separator: ", ")
      throw ValidationError("--method \(method): expected one of \(known)")
    }
    if let scope, PruningScope(rawValue: scope) == nil {
      throw ValidationError("--scope \(scope): expected layer or global")
    }
    if let structured, PruneOptions.Structure(rawValue: structured) == nil {
      throw ValidationError("--structured \(structured): expected channels or heads")
    }
    if let pattern, !(SparsityPattern(argument: pattern).map { if case .nOfM = $0 { true } else { false } } ?? false) {
      throw ValidationError("--pattern \(pattern): expected N:M with N < M, e.g. 2:4")
    }
    if let block, !(SparsityPattern(argument: block).map { if case .block = $0 { true } else { false } } ?? false) {
      throw ValidationError("--block \(block): expected RxC, e.g. 4x4")
    }
    try OptionCheck.exclusive(["--pattern": pattern != nil, "--block": block != nil])
    try OptionCheck.exclusive(
      ["--ratio": ratio != nil, "--target-params": targetParams != nil, "--target-macs": targetMacs != nil])
    if structured != nil {
      try OptionCheck.inapplicable(
        ["--sparsity": sparsity != nil, "--pattern": pattern != nil, "--block": block != nil, "--scope": scope != nil],
        because: "--structured removes --ratio of each group's channels/heads (give --ratio instead)")
    } else {
      try OptionCheck.inapplicable(
        [
          "--ratio": ratio != nil, "--print-groups": printGroups, "--target-params": targetParams != nil,
          "--target-macs": targetMacs != nil,
        ], because: "they apply with --structured only")
    }
    let iterativeOnly = ["--rounds": rounds != nil, "--retrain-epochs": retrainEpochs != nil, "--kept": kept != nil]
    let gradualOnly = [
      "--epochs": epochs != nil, "--ramp-epochs": rampEpochs != nil, "--updates-per-epoch": updatesPerEpoch != nil,
    ]
    let training = ["--lr": lr != nil, "--dense-epochs": denseEpochs != nil, "--limit": limit != nil]
    let calibrationOnly = [
      "--allocation": allocation != nil, "--owl-lambda": owlLambda != nil, "--owl-threshold": owlThreshold != nil,
      "--max-length": maxLength != nil, "--tokenizer": tokenizer != nil, "--true-sequential": trueSequential,
      "--role-offsets": roleOffsets != nil,
    ]
    if calib == nil {
      try OptionCheck.inapplicable(calibrationOnly, because: "they apply with --calib (one-shot pruning from texts)")
    }
    if schedule != "oneshot" && calib != nil {
      throw ValidationError("--calib: calibration texts apply to one-shot pruning only (drop --schedule \(schedule))")
    }
    switch schedule {
    case "iterative":
      try OptionCheck.inapplicable(gradualOnly, because: "they apply with --schedule gradual only")
      try OptionCheck.inapplicable(
        [
          "--structured": structured != nil, "--pattern": pattern != nil, "--block": block != nil,
          "--method": method != nil, "--sparsity": sparsity != nil, "--scope": scope != nil,
          "--ignore": !ignore.isEmpty,
        ], because: "--schedule iterative prunes unstructured by q·σ thresholds toward --kept")
    case "gradual":
      try OptionCheck.inapplicable(iterativeOnly, because: "they apply with --schedule iterative only")
      try OptionCheck.inapplicable(
        [
          "--structured": structured != nil, "--pattern": pattern != nil, "--block": block != nil,
          "--method": method != nil, "--ignore": !ignore.isEmpty,
        ], because: "--schedule gradual prunes unstructured by magnitude")
    default:
      try OptionCheck.inapplicable(
        iterativeOnly.merging(gradualOnly) { $0 || $1 }.merging(training) { $0 || $1 },
        because: "they apply with --schedule iterative or gradual")
      if data != nil && criterionNeeds != .gradients {
        throw ValidationError(
          "--data: one-shot pruning reads data only for --method taylor or movement "
            + "(or give --schedule iterative|gradual; wanda/sparsegpt read --calib)")
      }
    }
  }

  func run() throws {
    if let plan { return try runPlan(plan) }
    if calib != nil || criterionNeeds == .calibration { return try runOneShot() }
    var options = PruneOptions()
    let s = PruningScope(rawValue: scope ?? "layer")!
    options.method = PruneOptions.Method(rawValue: methodName)!
    options.scope = s
    options.sparsity = sparsity ?? 0.5
    options.ratio = ratio ?? 0.5
    options.seed = seed
    options.ignore = ignore
    if let targetParams { options.target = .parameters(targetParams) }
    if let targetMacs { options.target = .macs(targetMacs) }
    if let p = (pattern ?? block).flatMap(SparsityPattern.init(argument:)) { options.pattern = p }
    options.structure = structured.flatMap(PruneOptions.Structure.init(rawValue:))
    if schedule == "iterative" { return try runIterative() }
    if schedule == "gradual" { return try runGradual(scope: s) }
    var graph = try ModelFile.loadAny(model)
    // A name in --ignore that the model does not have is a usage error (it would prune everything).
    do { try PruneRecipe.checkIgnored(ignore, in: graph) } catch { throw ValidationError("\(error)") }
    let gradients = try data.map { try PruneDataSources.gradientSource(for: graph, data: $0, seed: seed) }
    let summary = try PruneRecipe.prune(&graph, options: options, gradients: gradients)
    try save(graph, prunedHeads: Self.prunedHeads(summary))
    if json { return try printJSON(summary) }
    if printGroups { for g in summary.groups { print(g) } }
    print(Self.table(summary))
    if !summary.removals.isEmpty { print(Self.removalTable(summary)) }
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
    let recovery = TrainerRecovery(
      data: train, epochs: retrainEpochs ?? 2, learningRate: lr ?? 0.01, seed: seed, log: note)
    var recipe = IterativePruningRecipe(kept: targets, rounds: rounds ?? 3, recovery: recovery)
    let result = try recipe.run(&graph, test: test, log: note)
    try PruneRecipe.save(graph, to: output)
    if json { return try printJSON(result) }
    let paper = IterativePruningRecipe.paperKept(kind)
    print(
      ReportTable(
        columns: ["layer", "kept", "paper (Han et al. 2015)"],
        rows: result.kept.keys.sorted().map {
          [$0, String(format: "%.2f%%", 100 * result.kept[$0]!), String(format: "%.2f%%", 100 * (paper[$0] ?? 0))]
        }
      ).text(), terminator: "")
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

  /// Encoder layer index → removed heads, from the query projections' names
  /// (`encoder.layer.3.attention.self.query`), for config.json's `pruned_heads`.
  static func prunedHeads(_ s: PruneSummary) -> [Int: [Int]] {
    var result: [Int: [Int]] = [:]
    for r in s.removals where r.unit == "heads" && !r.removed.isEmpty {
      let parts = r.layer.split(separator: ".")
      guard let i = parts.firstIndex(of: "layer"), i + 1 < parts.count, let layer = Int(parts[i + 1]) else {
        continue
      }
      result[layer] = r.removed
    }
    return result
  }

  /// Structured runs: per group, units before → after and which went.
  static func removalTable(_ s: PruneSummary) -> String {
    var lines = ["removed per group (ratio \(String(format: "%.3f", s.structuredRatio ?? 0)) of each group's units):"]
    for r in s.removals {
      let list = r.removed.count > 12
        ? r.removed.prefix(12).map(String.init).joined(separator: ",") + ",… (\(r.removed.count))"
        : r.removed.map(String.init).joined(separator: ",")
      lines.append("  \(r.layer): \(r.unit) \(r.before) → \(r.after), removed [\(list)]")
    }
    if !s.ignoredGroups.isEmpty {
      lines.append("  left whole by --ignore: \(s.ignoredGroups.joined(separator: ", "))")
    }
    return lines.joined(separator: "\n")
  }

  static func table(_ s: PruneSummary) -> String {
    var lines = [
      ReportTable(
        columns: ["layer", "shape before → after", "kept"],
        rows: s.layers.map {
          [String($0.name.prefix(35)), "\($0.shapeBefore) → \($0.shapeAfter)", String(format: "%.2f%%", 100 * $0.keptOfOriginal)]
        }
      ).text().trimmingCharacters(in: .newlines)
    ]
    lines.append(
      "parameters \(s.parametersBefore) → \(s.parametersAfter) (non-zero \(s.nonzeroAfter)); "
        + "MACs \(s.macsBefore) → \(s.macsAfter) (non-zero \(s.nonzeroMACsAfter))")
    return lines.joined(separator: "\n")
  }
}
