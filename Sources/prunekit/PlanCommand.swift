import ArgumentParser
import Foundation
import PruneKit

/// `prunekit plan MODEL --speedup 2 -o plan.json`: hardware-aware pruning plan from a measured cost table.
struct PlanCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "plan",
    abstract: "Plan per-layer pruning that meets a measured latency or energy budget at least loss.",
    usage: "prunekit plan <model> (--speedup <s> | --latency-budget <f>) [<options>] -o <plan.json>",
    discussion: """
      Every prunable layer is timed on this CPU with each candidate (unstructured levels, N:M, \
      block, channel or head cuts) as a one-layer graph through the kernel the executor picks, on the \
      layer's real inputs (cached per CPU); energy is modelled. Each candidate's loss is measured \
      alone on selection data: validation accuracy (last 10% of the MNIST training split, --data) or \
      embedding fidelity on calibration texts (--texts). An exact multiple-choice knapsack picks one \
      candidate per layer; the planned model is re-measured whole and the budget tightened until the \
      measured latency meets the target. `prunekit prune --plan` applies the plan. With --compare, \
      uniform magnitude and sensitivity-by-sparsity models are matched to the same measured latency \
      and all are reported on test data (run records in DIR). docs/hardware-aware.md.

      Examples:
        prunekit plan lenet300.onnx --speedup 2 -o plan.json
        prunekit plan lenet5.onnx --latency-budget 0.5 --batch 64 -o p.json
        prunekit plan m.onnx --texts t.csv:text:0..127 --speedup 1.5 -o p.json
        prunekit plan lenet300.onnx --speedup 3 --compare runs -o p.json
        prunekit plan lenet300.onnx --speedup 3 --table p.json -o p3.json
      """)

  @Argument(help: "Model to plan for (.onnx, .safetensors, Hugging Face folder).")
  var model: String

  @Option(parsing: .unconditional, help: "Measured speed-up to reach (≥ 1), e.g. 2.")
  var speedup: Double?
  @Option(parsing: .unconditional, help: "Latency budget as a fraction of the dense latency, e.g. 0.5.")
  var latencyBudget: Double?
  @Option(parsing: .unconditional, help: "Modelled energy budget as a fraction of dense, e.g. 0.5.")
  var energyBudget: Double?

  @Option(help: "MNIST-format IDX folder (image models; default: the repository's copy).")
  var data: String?
  @Option(help: "Encoders: calibration texts FILE.csv:COLUMN[:ROWS] for the fidelity losses.")
  var texts: String?
  @Option(parsing: .unconditional, help: "Images of the validation split the losses use.")
  var validation: Int = 2000
  @Option(help: "What image models' losses measure on those images: accuracy | cross-entropy (default accuracy).")
  var selection: String?
  @Option(parsing: .unconditional, help: "Rows per timed run.") var batch: Int = 1
  @Option(parsing: .unconditional, help: "Encoders: tokens per timed row (default 64).") var sequence: Int?
  @Option(help: "Unstructured candidate sparsities, comma-separated (default 0.3,0.5,0.7,0.8,0.9,0.95).")
  var sparsities: String?
  @Option(help: "Channel/head cut candidates, comma-separated fractions (default 0.25,0.5,0.75).")
  var ratios: String?
  @Option(help: "Each cut also with the layer's rest unstructured-sparse at these levels (default 0.5,0.8).")
  var cutSparsities: String?
  @Option(help: "Candidate kinds offered, comma-separated: unstructured,nm,block,channels (default all).")
  var candidates: String?
  @Option(help: "Reuse the cost table and losses of an earlier plan file (same model, CPU, batch, threads).")
  var table: String?
  @Option(parsing: .unconditional, help: "Accept a measured latency this fraction over target.")
  var tolerance: Double = 0.03
  @Option(
    parsing: .unconditional,
    help: "Rounds re-measuring every candidate's loss beside the plan's other choices, re-solving each time.")
  var refinements: Int = 2

  @Option(help: "Also build uniform and sensitivity baselines at the same measured latency; run records here.")
  var compare: String?
  @Option(parsing: .unconditional, help: "With --compare on images: test images reported (default 10000).")
  var testLimit: Int?
  @Option(help: "With --compare on encoders: evaluation texts FILE.csv:COLUMN[:ROWS] (disjoint from --texts).")
  var evalTexts: String?
  @Option(help: "Tokenizer folder (vocab.txt or tokenizer.json); default: beside the model.") var tokenizer: String?

  @OptionGroup var seeds: SeedOption
  @OptionGroup var format: JSONOption
  @OptionGroup var verbosity: VerbosityOptions
  @OptionGroup var threads: ThreadsOption

  @Option(name: [.short, .customLong("output")], help: "The plan file (.json).") var output: String

  struct Output: Encodable {
    let plan: HardwareAwarePlan
    let predictedSpeedup: Double
    let measuredSpeedup: Double
    let predictionError: Double
    let comparison: [PlanComparison.Row]?
  }

  func validate() throws {
    try OptionCheck.exclusive([
      "--speedup": speedup != nil, "--latency-budget": latencyBudget != nil, "--energy-budget": energyBudget != nil,
    ])
    guard speedup != nil || latencyBudget != nil || energyBudget != nil else {
      throw ValidationError("give a budget: --speedup S, --latency-budget F or --energy-budget F")
    }
    try OptionCheck.number(speedup, "--speedup", in: 1...1000)
    if let latencyBudget, !(latencyBudget > 0 && latencyBudget <= 1) {
      throw ValidationError("--latency-budget \(latencyBudget): expected a fraction of the dense latency in (0, 1]")
    }
    if let energyBudget, !(energyBudget > 0 && energyBudget <= 1) {
      throw ValidationError("--energy-budget \(energyBudget): expected a fraction of the dense energy in (0, 1]")
    }
    try OptionCheck.int(batch, "--batch", in: 1...65_536)
    try OptionCheck.int(sequence, "--sequence", in: 1...8192)
    try OptionCheck.int(validation, "--validation", in: 1...60_000)
    try OptionCheck.int(testLimit, "--test-limit", in: 1...Int(Int32.max))
    try OptionCheck.number(tolerance, "--tolerance", in: 0...1)
    try OptionCheck.int(refinements, "--refinements", in: 0...20)
    try OptionCheck.exclusive(["--data": data != nil, "--texts": texts != nil])
    if let selection, PlanningSetup.ImageSelection(rawValue: selection) == nil {
      throw ValidationError("--selection '\(selection)': expected accuracy or cross-entropy")
    }
    if texts == nil {
      try OptionCheck.inapplicable(
        ["--sequence": sequence != nil, "--eval-texts": evalTexts != nil, "--tokenizer": tokenizer != nil],
        because: "they apply to encoders planned from --texts")
    } else {
      try OptionCheck.inapplicable(
        ["--validation": validation != 2000, "--test-limit": testLimit != nil, "--selection": selection != nil],
        because: "they apply to image models planned from --data")
    }
    if compare == nil {
      try OptionCheck.inapplicable(
        ["--test-limit": testLimit != nil, "--eval-texts": evalTexts != nil], because: "they apply with --compare")
    } else if texts != nil && evalTexts == nil {
      throw ValidationError("--compare on an encoder needs --eval-texts FILE.csv:COLUMN[:ROWS] (disjoint from --texts)")
    }
    if energyBudget != nil && compare != nil {
      throw ValidationError("--compare matches measured latency; it does not apply with --energy-budget")
    }
    if table != nil {
      try OptionCheck.inapplicable(
        [
          "--sparsities": sparsities != nil, "--ratios": ratios != nil, "--cut-sparsities": cutSparsities != nil,
          "--candidates": candidates != nil,
        ],
        because: "--table reuses the candidates of the earlier plan")
    }
    _ = try Self.fractions(sparsities, "--sparsities")
    _ = try Self.fractions(ratios, "--ratios")
    _ = try Self.fractions(cutSparsities, "--cut-sparsities")
    _ = try Self.kinds(candidates)
    try OptionCheck.output(output, inputs: [model], extensions: ["json"])
  }

  /// "0.5,0.9" → [0.5, 0.9], each in (0, 1); nil for nil.
  static func fractions(_ text: String?, _ option: String) throws -> [Double]? {
    guard let text else { return nil }
    let values = text.split(separator: ",", omittingEmptySubsequences: false).map { Double($0) }
    guard !values.isEmpty, values.allSatisfy({ $0 != nil && $0! > 0 && $0! < 1 }) else {
      throw ValidationError("\(option) \(text): expected comma-separated fractions in (0, 1), e.g. 0.5,0.9")
    }
    return values.map { $0! }.sorted()
  }

  /// "unstructured,channels" → those kinds; nil for nil.
  static func kinds(_ text: String?) throws -> Set<PruningCandidate.Kind>? {
    guard let text else { return nil }
    var kinds = Set<PruningCandidate.Kind>()
    for part in text.split(separator: ",", omittingEmptySubsequences: false) {
      guard let kind = PruningCandidate.Kind(rawValue: String(part)), kind != .dense else {
        throw ValidationError("--candidates \(text): '\(part)' is not one of unstructured, nm, block, channels")
      }
      kinds.insert(kind)
    }
    return kinds
  }

  var budget: LatencyAwareAllocator.Budget {
    if let speedup { return .speedup(speedup) }
    if let latencyBudget { return .latency(fraction: latencyBudget) }
    return .energy(fraction: energyBudget!)
  }

  func setup(_ graph: Graph) throws -> PlanningSetup {
    guard let texts else {
      if graph.inputs.contains(where: { graph.initializers[$0.name] == nil && $0.dtype != .float32 }) {
        throw ValidationError("\(model) reads token ids: give --texts FILE.csv:COLUMN[:ROWS] (calibration texts)")
      }
      return try PlanningSetup.mnist(
        graph: graph, folder: PruneDataSources.folder(data), batch: batch, validation: validation,
        testLimit: compare == nil ? nil : (testLimit ?? 10_000),
        selection: selection.flatMap(PlanningSetup.ImageSelection.init(rawValue:)) ?? .accuracy)
    }
    let calibration = try CSVColumnSpec(parsing: texts, option: "--texts", columnCount: 1).read(option: "--texts")
    let evaluation = try evalTexts.map {
      try CSVColumnSpec(parsing: $0, option: "--eval-texts", columnCount: 1).read(option: "--eval-texts")
    }
    if let evaluation, !Set(evaluation.records).isDisjoint(with: calibration.records),
      (evalTexts ?? "").split(separator: ":").first == texts.split(separator: ":").first
    {
      throw ValidationError("--eval-texts: rows overlap --texts; selection and reporting texts must be disjoint")
    }
    return try PlanningSetup.encoder(
      graph: graph, tokenizer: try WordPieceTokenizer.forModel(model, folder: tokenizer),
      calibration: calibration.values[0], evaluation: evaluation?.values[0], batch: batch, sequence: sequence ?? 64,
      seed: seeds.seed)
  }

  func run() throws {
    let threadCount = threads.threads ?? 1
    ThreadPool.shared.threadCount = threadCount
    let graph = try ModelFile.loadAny(model)
    let setup = try self.setup(graph)
    var options = LayerCostMeasurer.Options()
    options.threads = threadCount
    if let s = try Self.fractions(sparsities, "--sparsities") { options.sparsities = s }
    if let r = try Self.fractions(ratios, "--ratios") { options.ratios = r }
    if let c = try Self.fractions(cutSparsities, "--cut-sparsities") { options.cutSparsities = c }
    if let k = try Self.kinds(candidates) { options.kinds = k }
    let measurer = try LayerCostMeasurer(graph: graph, inputs: setup.inputs, options: options)
    var planner = HardwareAwarePlanner(measurer: measurer, quality: setup.selection)
    planner.tolerance = tolerance
    planner.refinements = refinements
    planner.log = { note($0) }
    var (table, baseline) = try self.table.map { try reuse($0, quality: setup.selection.name) } ?? planner.costTable(batch: batch)
    if self.table != nil {
      // The dense model re-timed in this run (the target and the baselines are measured against it);
      // the machine may be busier or quieter than when the table was measured, so every layer time is
      // scaled by the same factor, keeping the table's proportions.
      let now = try HardwareAwarePlanner.measure(graph, inputs: setup.inputs, threads: threadCount).median
      table.rescale(to: now)
    }
    let result = try planner.plan(table, budget: budget)
    let targetSeconds: Double? = {
      switch budget {
      case .speedup(let s): return table.denseSeconds / s
      case .latency(let f): return table.denseSeconds * f
      case .energy: return nil
      }
    }()
    let plan = HardwareAwarePlan(
      model: model, table: table, result: result, target: budget.description, targetSeconds: targetSeconds,
      quality: setup.selection, baseline: baseline, sequence: setup.sequence, timingInputs: setup.timingInputs,
      seed: seeds.seed)
    try plan.write(to: output)
    var comparison: [PlanComparison.Row]?
    if let compare {
      var c = PlanComparison(planner: planner, setup: setup)
      c.log = { note($0) }
      let rows = try c.run(planned: result, table: table, baseline: baseline, target: Self.slug(budget))
      try FileManager.default.createDirectory(atPath: compare, withIntermediateDirectories: true)
      let stem = Self.stem(model)
      for (row, var record) in rows {
        // The dense reference is the model file; the planned model's record names its plan file.
        record.dense?.path = model
        record.prediction?.plan = output
        let name = "\(stem)-\(Self.slug(budget))-\(row.method.replacingOccurrences(of: " ", with: "-")).json"
        try record.write(to: (compare as NSString).appendingPathComponent(name))
      }
      comparison = rows.map(\.0)
    }
    let error = (plan.predictedMilliseconds - plan.measuredMilliseconds) / plan.measuredMilliseconds
    if format.json {
      return try JSONOutput.print(
        Output(
          plan: plan, predictedSpeedup: plan.predictedSpeedup, measuredSpeedup: plan.measuredSpeedup,
          predictionError: error, comparison: comparison),
        command: "plan")
    }
    print(Self.table(plan))
    if let comparison { print(Self.comparisonTable(comparison, metric: setup.report?.name ?? "")) }
    print("wrote \(output)" + (compare.map { "; run records in \($0)" } ?? ""))
  }

  /// The cost table and baseline of an earlier plan, refused when it was made for another model,
  /// measured at another CPU, batch or thread count, or its losses measure another quality.
  func reuse(_ path: String, quality: String) throws -> (CostTable, Double) {
    let earlier = try HardwareAwarePlan.read(from: path)
    guard earlier.quality == quality else {
      throw ValidationError("--table \(path): its losses are in \(earlier.quality); this run selects on \(quality)")
    }
    let t = earlier.costTable
    let here = (KernelChoiceCache.cpuModel, batch, threads.threads ?? 1, sequence ?? (texts == nil ? nil : 64))
    guard t.cpu == here.0, t.batch == here.1, t.threads == here.2, earlier.sequence == here.3,
      Self.stem(earlier.model) == Self.stem(model)
    else {
      throw ValidationError(
        "--table \(path): measured for \(earlier.model) on \(t.cpu), batch \(t.batch), \(t.threads) thread(s)"
          + (earlier.sequence.map { ", sequence \($0)" } ?? "") + "; this run is \(model) on \(here.0), batch \(here.1), "
          + "\(here.2) thread(s)" + (here.3.map { ", sequence \($0)" } ?? ""))
    }
    note("reusing the cost table and losses of \(path)")
    return (t, earlier.baselineQuality)
  }

  /// The model's name for record files: the file stem, or for `…/NAME/onnx/model.onnx` (a Hugging Face
  /// export) and `…/NAME/model.safetensors` the folder's NAME.
  static func stem(_ path: String) -> String {
    var parts = path.split(separator: "/").map(String.init)
    let file = ((parts.popLast() ?? "model") as NSString).deletingPathExtension
    guard file == "model" else { return file }
    while let last = parts.last, last == "onnx" || last == "." { parts.removeLast() }
    return parts.last ?? file
  }

  /// "2x", "lat0.5", "energy0.5": file-name form of the budget.
  static func slug(_ budget: LatencyAwareAllocator.Budget) -> String {
    switch budget {
    case .speedup(let s): return String(format: "%gx", s)
    case .latency(let f): return String(format: "lat%g", f)
    case .energy(let f): return String(format: "energy%g", f)
    }
  }

  static func table(_ p: HardwareAwarePlan) -> String {
    let layers = ReportTable(
      title: "plan for \(p.target) on \(p.cpu), batch \(p.batch), \(p.threads) thread(s) (\(p.timingInputs))",
      columns: ["layer", "candidate", "pred. loss", "ms", "dense ms", "kernel"],
      rows: p.layers.map { l in
        [
          l.layer, l.candidate.description, String(format: "%.4f", l.predictedLoss), String(format: "%.4f", l.milliseconds),
          String(format: "%.4f", l.denseMilliseconds), l.kernels.joined(separator: ", "),
        ]
      })
    var lines = layers.text().split(separator: "\n").map(String.init)
    if let around = p.surroundingMilliseconds, around != 0 {
      lines.append(String(format: "ops between the layers (pooling, activations, attention): %+.4f ms from the cuts", around))
    }
    let error = 100 * (p.predictedMilliseconds - p.measuredMilliseconds) / p.measuredMilliseconds
    lines.append(
      String(
        format: "dense %.4f ms; predicted %.4f ms (%.2f×), measured %.4f ms (%.2f×): prediction error %+.1f%%",
        p.denseMilliseconds, p.predictedMilliseconds, p.predictedSpeedup, p.measuredMilliseconds, p.measuredSpeedup,
        error))
    lines.append(
      String(
        format: "predicted loss %.4f of %@ %.4f; modelled energy %.3g → %.3g µJ; knapsack discretisation ≤ %.2g ms",
        p.predictedLoss, p.quality, p.baselineQuality, p.denseMicrojoules, p.predictedMicrojoules,
        p.discretisationMilliseconds))
    if p.attempts.count > 1 {
      lines.append(
        "attempts (budget → predicted / measured ms): "
          + p.attempts.map { String(format: "%.4g → %.4g / %.4g", $0.budgetMilliseconds, $0.predictedMilliseconds, $0.measuredMilliseconds) }
          .joined(separator: "; "))
    }
    return lines.joined(separator: "\n")
  }

  static func comparisonTable(_ rows: [PlanComparison.Row], metric: String) -> String {
    let table = ReportTable(
      title: "same measured latency, reported on \(metric):",
      columns: ["method", "measured ms", "speed-up", "quality", "kept", "how"],
      rows: rows.map { r in
        [
          r.method, String(format: "%.4f", r.measuredMilliseconds), String(format: "%.2f×", r.speedup),
          String(format: "%.4f", r.quality), String(format: "%.1f%%", 100 * r.kept), r.detail,
        ]
      })
    let lines = table.text().split(separator: "\n").map(String.init)
    return lines.joined(separator: "\n")
  }
}
