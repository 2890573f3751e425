import Energy
import Evaluation
import Foundation
import ModelGraph
import Report
import Runtime
import TensorCore
import Training

/// Options of an evaluation (`prunekit eval`); the defaults are the CLI's.
public struct EvaluationOptions: Sendable {
  public enum Split: String, Sendable, CaseIterable {
    /// The data's test split (IDX: the t10k files; CSV: the rows given).
    case test
    /// IDX only: the last `validationFraction` of the training images (what selection uses).
    case validation
  }

  public enum Groups: Sendable, Equatable {
    /// One group per class.
    case classes
    /// CSV only: the values of a column.
    case column(String)
    /// CSV only: a rule file `GROUP: word, word, …` (`TextGroupRules`).
    case rules(String)

    /// `classes`, `column:NAME` or `rules:FILE`.
    public init(parsing text: String) throws {
      if text == "classes" {
        self = .classes
      } else if text.hasPrefix("column:"), text.count > 7 {
        self = .column(String(text.dropFirst(7)))
      } else if text.hasPrefix("rules:"), text.count > 6 {
        self = .rules(String(text.dropFirst(6)))
      } else {
        throw EvaluationError.invalidArgument("--groups: expected classes, column:NAME or rules:FILE, found '\(text)'")
      }
    }

    var definition: String {
      switch self {
      case .classes: return "classes"
      case .column(let name): return "column \(name)"
      case .rules(let path): return "rules \((path as NSString).lastPathComponent)"
      }
    }
  }

  public var split = Split.test
  public var validationFraction = 0.1
  public var groups = Groups.classes
  /// Corruption names (`ImageCorruptionKind`, `TextCorruptionKind`); nil = every kind for the data.
  public var corruptions: [String]? = nil
  public var severities = [1, 3, 5]
  /// Robustness is measured on the first this many evaluated samples.
  public var robustnessSamples = 1000
  /// Top-k accuracies reported besides top-1 (those with k < classes).
  public var topK = [2, 5]
  public var calibrationBins = 15
  public var batchSize = 100
  public var latencyWarmup = 3
  public var latencyRuns = 30
  /// Evaluate only the first this many samples.
  public var limit: Int? = nil
  /// At most this many pruning-identified exemplars are listed.
  public var maxExemplars = 100
  public var seed: UInt64 = 1
  /// The report row's name (default: the model's file name).
  public var label: String? = nil
  public var energyProfile = "horowitz-45nm"
  /// Grid region for CO2 (ISO 3166 alpha-3; nil = world average).
  public var region: String? = nil
  /// Texts: the tokenizer folder (default: found beside the model), the maximum tokens per text.
  public var tokenizer: String? = nil
  public var maxLength = 256
  /// Texts with an embedding model: rows kept by this filter form the probe pool…
  public var filter: RowFilter? = nil
  /// …of which this many are sampled evenly (nil = all).
  public var probeSample: Int? = nil
  /// What the model is, for the report's recipe section (a sweep cell knows).
  public var recipe: RunRecord.RecipeFacts? = nil

  public init() {}
}

/// Evaluates one model, optionally beside its dense reference, on labelled data, and returns the run
/// record that `prunekit eval` writes and `prunekit report` reads: accuracy (top-1, top-k, per-class
/// P/R/F1, confusion), groups (per-group accuracy, worst group, largest gap, dense → model), agreement
/// with the dense model (flips and pruning-identified exemplars, Hooker et al. 2019), calibration
/// (ECE with its reliability bins, Guo et al. 2017), robustness under seeded corruptions, latency
/// p50/p99 at batch 1, size on disk, parameters, sparsity, MACs and modelled energy and CO2 per
/// inference. Everything is deterministic for a given seed except the latency figures.
///
/// `data`: an MNIST-format IDX folder, or `FILE.csv:TEXT:LABEL[:ROWS]` for a text classifier or an
/// embedding model (scored by a linear probe trained on its own embeddings, and by cosine fidelity
/// to the dense model).
public enum EvaluationRecipe {
  public static func evaluate(
    model modelPath: String, dense densePath: String? = nil, data: String, options: EvaluationOptions = .init(),
    progress: ((String) -> Void)? = nil
  ) throws -> RunRecord {
    let graph = try ModelFile.loadAny(modelPath)
    let denseGraph = try densePath.map { try ModelFile.loadAny($0) }
    let set = try loadSet(data: data, graph: graph, options: options)
    progress?("evaluating \(modelPath) on \(set.labels.count) samples (\(set.split))")
    let model = try ModelScorer.make(graph: graph, path: modelPath, set: set, options: options, progress: progress)
    let dense = try denseGraph.map {
      try ModelScorer.make(graph: $0, path: densePath!, set: set, options: options, progress: progress)
    }
    if let denseGraph, let densePath { try checkCompatible(dense: denseGraph, densePath, model: graph, modelPath) }
    let logits = try model.score(set.inputs)
    let denseLogits = try dense.map { d in
      do { return try d.score(set.inputs) } catch {
        throw EvaluationError.invalidArgument("dense model \(densePath!): \(error)")
      }
    }
    try checkClasses(logits, path: modelPath, set: set)
    if let denseLogits, denseLogits.shape != logits.shape {
      throw EvaluationError.shape(
        what: "dense model \(densePath!) outputs", expected: "\(logits.shape) (as \(modelPath))",
        found: "\(denseLogits.shape)")
    }
    let groups = try groupNames(set: set, options: options)

    var record = RunRecord(
      label: options.label ?? (modelPath as NSString).lastPathComponent,
      model: try modelFacts(path: modelPath, scorer: model))
    record.recipe = options.recipe
    record.data = .init(source: set.source, split: set.split, sampleCount: set.labels.count, seed: Int(options.seed))
    let predicted = try predictions(fromLogits: logits)
    let densePredicted = try denseLogits.map(predictions(fromLogits:))
    record.accuracy = try accuracyFacts(logits: logits, predicted: predicted, set: set, options: options)
    record.groups = try groupFacts(
      groups: groups, labels: set.labels, predicted: predicted, densePredicted: densePredicted,
      definition: options.groups.definition)
    if let densePredicted {
      record.agreement = try agreementFacts(
        dense: densePredicted, model: predicted, set: set, groups: groups, maxExemplars: options.maxExemplars)
    }
    let reliability = try Reliability(logits: logits, labels: set.labels, bins: options.calibrationBins)
    record.calibration = .init(
      ece: reliability.ece,
      bins: reliability.bins.map {
        .init(lower: $0.lower, upper: $0.upper, count: $0.count, meanConfidence: $0.meanConfidence, accuracy: $0.accuracy)
      })
    record.robustness = try robustness(model: model, dense: dense, set: set, options: options, progress: progress)
    if let e = model.embeddings, let d = dense?.embeddings {
      let f = try EmbeddingFidelity(d.values, e.values, hidden: d.hidden)
      record.fidelity = .init(mean: f.mean, min: f.min, count: f.count, probeAccuracy: record.accuracy?.top1)
    }
    progress?("timing \(modelPath) at batch 1")
    record.latency = try latencyFacts(graph: graph, input: model.single, options: options)
    record.energy = try energyFacts(graph: graph, input: model.single, options: options)
    if let densePath, let denseGraph, let dense, let denseLogits {
      let denseReliability = try Reliability(logits: denseLogits, labels: set.labels, bins: options.calibrationBins)
      let denseLatency = try latencyFacts(graph: denseGraph, input: dense.single, options: options)
      let denseEnergy = try energyFacts(graph: denseGraph, input: dense.single, options: options)
      let denseAccuracy = try accuracyFacts(logits: denseLogits, predicted: densePredicted!, set: set, options: options)
      var facts = RunRecord.DenseFacts(
        path: densePath, accuracy: denseAccuracy.top1,
        worstGroupAccuracy: record.groups?.groups.compactMap(\.denseAccuracy).min(), ece: denseReliability.ece,
        p50Milliseconds: denseLatency.p50Milliseconds, joulesPerInference: denseEnergy.joulesPerInference)
      facts.perClass = denseAccuracy.perClass
      facts.p99Milliseconds = denseLatency.p99Milliseconds
      record.dense = facts
    }
    record.notes = [
      "PruneKit eval, seed \(options.seed)",
      "latency: wall clock at batch 1, \(options.latencyRuns) runs after \(options.latencyWarmup) warm-up, "
        + "\(ThreadPool.shared.threadCount) threads",
    ]
    return record
  }

  // MARK: - Data and groups

  static func loadSet(data: String, graph: Graph, options: EvaluationOptions) throws -> EvaluationSet {
    let classCount = outputClasses(graph)
    if data.contains(":") && !FileManager.default.fileExists(atPath: data) {
      guard options.split == .test else {
        throw EvaluationError.invalidArgument(
          "--split validation is for IDX folders (the last 10% of the training images); for a CSV choose the rows with FILE.csv:TEXT:LABEL:ROWS")
      }
      let spec = try CSVColumnSpec(parsing: data, option: "--data", columnCount: 2)
      let embedding = ModelScorer.isEmbeddingModel(graph)
      return try EvaluationSet.texts(
        spec: spec, option: "--data", classCount: embedding ? nil : classCount, filter: options.filter,
        probeSample: embedding ? .some(options.probeSample) : nil, limit: options.limit)
    }
    if case .column = options.groups {
      throw EvaluationError.invalidArgument("--groups column:NAME needs a CSV (--data FILE.csv:TEXT:LABEL)")
    }
    if case .rules = options.groups {
      throw EvaluationError.invalidArgument("--groups rules:FILE needs texts (--data FILE.csv:TEXT:LABEL)")
    }
    var imageSize: [Int]? = nil
    if let dims = graph.inputs.first(where: { graph.initializers[$0.name] == nil })?.shape, dims.count == 4,
      case .fixed(let h) = dims[2], case .fixed(let w) = dims[3]
    {
      imageSize = [h, w]
    }
    return try EvaluationSet.images(
      folder: data, split: options.split, validationFraction: options.validationFraction, classCount: classCount,
      imageSize: imageSize, limit: options.limit)
  }

  /// The fixed last dimension of a classifier's first output ([batch, classes]), when declared.
  static func outputClasses(_ graph: Graph) -> Int? {
    guard let dims = graph.outputs.first?.shape, dims.count == 2, case .fixed(let c) = dims[1] else { return nil }
    return c
  }

  /// The dense model must read the same inputs and give as many classes as the model.
  static func checkCompatible(dense: Graph, _ densePath: String, model: Graph, _ modelPath: String) throws {
    func inputs(_ g: Graph) -> [String] {
      g.inputs.filter { g.initializers[$0.name] == nil }.map { info in
        "\(info.name)[" + (info.shape ?? []).map { if case .fixed(let n) = $0 { return "\(n)" } else { return "?" } }
          .joined(separator: ",") + "]"
      }.sorted()
    }
    guard inputs(dense) == inputs(model) else {
      throw EvaluationError.shape(
        what: "dense model \(densePath) inputs", expected: "\(inputs(model).joined(separator: ", ")) (as \(modelPath))",
        found: inputs(dense).joined(separator: ", "))
    }
    if let a = outputClasses(model), let b = outputClasses(dense), a != b {
      throw EvaluationError.shape(
        what: "dense model \(densePath) outputs", expected: "[batch, \(a)] (as \(modelPath))", found: "[batch, \(b)]")
    }
  }

  static func checkClasses(_ logits: Tensor, path: String, set: EvaluationSet) throws {
    guard logits.shape[1] >= set.classNames.count else {
      throw EvaluationError.shape(
        what: "\(path) outputs", expected: "[\(set.labels.count), ≥ \(set.classNames.count)] (the data's classes)",
        found: "\(logits.shape)")
    }
  }

  static func groupNames(set: EvaluationSet, options: EvaluationOptions) throws -> [String] {
    switch options.groups {
    case .classes:
      return set.labels.map { set.classNames[$0] }
    case .column(let name):
      guard let values = set.columns[name] else {
        throw EvaluationError.invalidArgument(
          "--groups column:\(name): \(set.source) has no column '\(name)'; columns are "
            + set.columns.keys.sorted().joined(separator: ", "))
      }
      return values.map { $0.trimmingCharacters(in: .whitespaces).isEmpty ? "(empty)" : $0 }
    case .rules(let path):
      guard case .texts(let texts) = set.inputs else { preconditionFailure("rules on images") }
      return try TextGroupRules(contentsOf: path).assign(texts)
    }
  }

  // MARK: - Sections of the record

  static func accuracyFacts(logits: Tensor, predicted: [Int], set: EvaluationSet, options: EvaluationOptions) throws
    -> RunRecord.AccuracyFacts
  {
    let classes = logits.shape[1]
    let metrics = try ClassificationMetrics(predictions: predicted, labels: set.labels, classCount: classes)
    var topK: [String: Double] = [:]
    for k in options.topK where k > 1 && k < classes {
      topK["\(k)"] = try topKAccuracy(logits: logits, labels: set.labels, k: k)
    }
    let perClass = (0..<classes).map { c in
      RunRecord.ClassFacts(
        label: c, name: c < set.classNames.count ? set.classNames[c] : nil, support: metrics.support(c),
        precision: metrics.precision(c), recall: metrics.recall(c), f1: metrics.f1(c))
    }
    return .init(
      top1: metrics.accuracy, topK: topK.isEmpty ? nil : topK, macroF1: metrics.macroF1, perClass: perClass,
      confusion: metrics.confusion)
  }

  static func groupFacts(
    groups: [String], labels: [Int], predicted: [Int], densePredicted: [Int]?, definition: String
  ) throws -> RunRecord.GroupFacts {
    let disparity = try GroupDisparity(groups: groups, correct: zip(predicted, labels).map { $0 == $1 })
    let dense = try densePredicted.map {
      try GroupDisparity(groups: groups, correct: zip($0, labels).map { $0 == $1 })
    }
    let facts = zip(disparity.groups, dense?.groups.map(Optional.some) ?? disparity.groups.map { _ in nil }).map {
      RunRecord.GroupFacts.Group(name: $0.name, count: $0.count, accuracy: $0.accuracy, denseAccuracy: $1?.accuracy)
    }
    return .init(
      definition: definition, groups: facts, worstGroupAccuracy: disparity.groups.map(\.accuracy).min() ?? 0,
      largestGap: disparity.gap)
  }

  static func agreementFacts(dense: [Int], model: [Int], set: EvaluationSet, groups: [String], maxExemplars: Int)
    throws -> RunRecord.AgreementFacts
  {
    let agreement = try Agreement(dense: dense, compressed: model, labels: set.labels)
    let exemplars = agreement.flipped.prefix(maxExemplars).map {
      RunRecord.AgreementFacts.Exemplar(
        index: $0, label: set.labels[$0], dense: dense[$0], pruned: model[$0], group: groups[$0])
    }
    var facts = RunRecord.AgreementFacts(
      sampleCount: agreement.sampleCount, flipRate: 1 - agreement.agreementRate, lost: agreement.lost,
      gained: agreement.gained, exemplars: Array(exemplars))
    var perGroup: [String: (count: Int, flips: Int)] = [:]
    for (i, g) in groups.enumerated() {
      perGroup[g, default: (0, 0)].count += 1
      if dense[i] != model[i] { perGroup[g, default: (0, 0)].flips += 1 }
    }
    facts.flipsByGroup = perGroup.keys.sorted().map {
      .init(group: $0, count: perGroup[$0]!.count, flips: perGroup[$0]!.flips)
    }
    return facts
  }

  static func robustness(
    model: ModelScorer, dense: ModelScorer?, set: EvaluationSet, options: EvaluationOptions,
    progress: ((String) -> Void)?
  ) throws -> [RunRecord.RobustnessFacts]? {
    let names = options.corruptions ?? set.inputs.corruptionNames
    guard !names.isEmpty, !options.severities.isEmpty else { return nil }
    let n = min(options.robustnessSamples, set.labels.count)
    let clean = set.inputs.prefix(n)
    let labels = Array(set.labels.prefix(n))
    func accuracy(_ logits: Tensor) throws -> Double {
      let p = try predictions(fromLogits: logits)
      return Double(zip(p, labels).filter { $0 == $1 }.count) / Double(max(n, 1))
    }
    let cleanAccuracy = try accuracy(model.score(clean))
    let denseClean = try dense.map { try accuracy($0.score(clean)) }
    var facts: [RunRecord.RobustnessFacts] = []
    for (k, name) in names.enumerated() {
      for severity in options.severities {
        progress?("robustness: \(name) severity \(severity) on \(n) samples")
        // One seed per (corruption, severity), the same for the model and the dense reference.
        let seed = options.seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(k) &* 1000 &+ UInt64(severity)
        let corrupted = try clean.corrupted(name, severity: severity, seed: seed)
        var f = RunRecord.RobustnessFacts(
          corruption: name, severity: severity, accuracy: try accuracy(model.score(corrupted)),
          denseAccuracy: try dense.map { try accuracy($0.score(corrupted)) }, seed: Int(truncatingIfNeeded: seed))
        f.sampleCount = n
        f.cleanAccuracy = cleanAccuracy
        f.denseCleanAccuracy = denseClean
        facts.append(f)
      }
    }
    return facts
  }

  static func modelFacts(path: String, scorer: ModelScorer) throws -> RunRecord.ModelFacts {
    let cost = try scorer.graph.costs(inputShapes: scorer.single.mapValues(\.shape))
    return .init(
      path: path, format: (path as NSString).pathExtension.lowercased(), sizeBytes: try bytesOnDisk(path),
      parameters: cost.totals.parameters, nonzeroParameters: cost.totals.nonzeroParameters, macs: cost.totals.macs,
      macsInput: scorer.singleText)
  }

  /// The file's bytes, or the sum of a folder's regular files.
  static func bytesOnDisk(_ path: String) throws -> Int {
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
      throw EvaluationError.invalidArgument("\(path): no such file")
    }
    guard isFolder.boolValue else { return try fileSize(path) }
    var total = 0
    for case let name as String in FileManager.default.enumerator(atPath: path) ?? .init() {
      let full = (path as NSString).appendingPathComponent(name)
      if let size = try? FileManager.default.attributesOfItem(atPath: full)[.size] as? Int,
        (try? FileManager.default.attributesOfItem(atPath: full)[.type] as? FileAttributeType) == .typeRegular
      {
        total += size
      }
    }
    return total
  }

  /// p50/p99 of single-input runs with the kernels `prunekit run` picks (sparse layers measured at
  /// load), and the time per op type from one extra observed pass per run.
  static func latencyFacts(graph: Graph, input: [String: Tensor], options: EvaluationOptions) throws
    -> RunRecord.LatencyFacts
  {
    let executor = try Executor(
      graph: graph, selector: SparseKernelSelector(graph: graph, inputShapes: input.mapValues(\.shape), sample: input))
    let stats = try LatencyStats.measure(warmup: options.latencyWarmup, runs: options.latencyRuns) {
      _ = try executor.run(input)
    }
    var byOp: [String: Double] = [:]
    let passes = min(options.latencyRuns, 10)
    for _ in 0..<passes {
      var last = DispatchTime.now().uptimeNanoseconds
      _ = try executor.run(input) { node, _ in
        let now = DispatchTime.now().uptimeNanoseconds
        byOp[node.opType, default: 0] += Double(now - last) * 1e-6 / Double(passes)
        last = now
      }
    }
    return .init(
      batch: 1, threads: ThreadPool.shared.threadCount, p50Milliseconds: stats.percentile(50) * 1e3,
      p99Milliseconds: stats.percentile(99) * 1e3, runs: options.latencyRuns,
      byKernel: byOp.sorted { $0.value > $1.value }.map { .init(kernel: $0.key, milliseconds: $0.value) },
      cpu: cpuModelName())
  }

  /// Modelled energy per inference from the graph's MACs and bytes (no meter is read, so it says
  /// "modelled"), and its CO2 at the region's grid intensity.
  static func energyFacts(graph: Graph, input: [String: Tensor], options: EvaluationOptions) throws
    -> RunRecord.EnergyFacts
  {
    let cost = try graph.costs(inputShapes: input.mapValues(\.shape))
    let energyModel = EnergyModel(profile: try HardwareProfile.builtin(options.energyProfile), weightsFrom: .dram)
    let sparse = cost.totals.nonzeroParameters < cost.totals.parameters
    let dense = energyModel.run(cost, storage: .dense).total
    let sparseFigure = sparse ? energyModel.run(cost, storage: .sparse(valueBits: 32, indexBits: 5)).total : nil
    let figure = sparseFigure.map { $0.joules < dense.joules ? $0 : dense } ?? dense
    let intensity = try CarbonIntensityTable.builtin().intensity(for: options.region)
    let carbon = try CarbonEstimate(energy: figure, intensity: intensity, pue: PUE.none)
    return .init(
      joulesPerInference: figure.joules, co2GramsPerInference: carbon.grams, provenance: figure.provenance.rawValue,
      method: figure.method, gridGramsPerKWh: intensity.gramsPerKWh, pue: PUE.none)
  }
}

extension EvaluationOptions {
  /// The corruption names `--corruptions` accepts.
  public static let imageCorruptions = ImageCorruptionKind.allCases.map(\.rawValue)
  public static let textCorruptions = TextCorruptionKind.allCases.map(\.rawValue)
}
