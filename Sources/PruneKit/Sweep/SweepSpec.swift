import Foundation
import Pruning

/// A sweep: one model pruned by every method at every sparsity (and pattern), each cell evaluated
/// the same way. Stored as DIR/sweep.json beside the results, with the SHA-256 of its canonical
/// JSON (`hash`), which every cell's result file carries, so results of two sweeps never mix.
///
/// Paths (model, data) are kept as given and read relative to the working directory of whoever runs
/// a cell: a cluster job runs from the folder the sweep was made in (docs/cluster.md).
public struct SweepSpec: Codable, Sendable, Equatable {
  /// The model every cell starts from (.onnx, .safetensors, .pkz, Hugging Face folder).
  public var model: String
  /// Importance criteria by `CriterionRegistry` name.
  public var methods: [String]
  /// Target sparsities for unstructured and block patterns, each in [0, 1).
  public var sparsities: [Double]
  /// "unstructured", N:M ("2:4", its sparsity fixed at 1 − N/M: one grid point) or block ("4x4").
  public var patterns: [String]
  /// "layer" or "global" threshold (unstructured).
  public var scope: String
  /// Training data (MNIST-format IDX folder) for Taylor gradients and fine-tuning; nil when neither.
  public var trainData: String?
  /// Fine-tuning after pruning with the masks held (`TrainerRecovery`); nil: none.
  public var finetune: Finetune?
  public var evaluation: Evaluation
  public var seed: UInt64

  public struct Finetune: Codable, Sendable, Equatable {
    public var epochs: Int
    public var learningRate: Double
    /// First N training images only.
    public var limit: Int?

    public init(epochs: Int, learningRate: Double, limit: Int? = nil) {
      self.epochs = epochs
      self.learningRate = learningRate
      self.limit = limit
    }
  }

  /// What `prunekit eval` is given for every cell (EvaluationRecipe).
  public struct Evaluation: Codable, Sendable, Equatable {
    /// An MNIST-format IDX folder, or `FILE.csv:TEXT:LABEL[:ROWS]` (text classifier / embedding model).
    public var data: String
    /// "test" or "validation" (IDX: the last 10 % of the training images).
    public var split: String
    /// First N evaluation samples only.
    public var limit: Int?
    /// `classes`, `column:NAME` or `rules:FILE` (nil: classes).
    public var groups: String?
    /// Corruption kinds for robustness (nil: none in a sweep; each costs passes per severity).
    public var corruptions: [String]?
    /// Embedding models: keep rows whose numeric column passes (`confidence>=0.6`), and probe on an
    /// evenly spaced sample of this many of them.
    public var filter: String?
    public var probeSample: Int?

    public init(
      data: String, split: String = "test", limit: Int? = nil, groups: String? = nil, corruptions: [String]? = nil,
      filter: String? = nil, probeSample: Int? = nil
    ) {
      self.data = data
      self.split = split
      self.limit = limit
      self.groups = groups
      self.corruptions = corruptions
      self.filter = filter
      self.probeSample = probeSample
    }
  }

  public init(
    model: String, methods: [String], sparsities: [Double], patterns: [String] = ["unstructured"],
    scope: String = "layer", trainData: String? = nil, finetune: Finetune? = nil, evaluation: Evaluation,
    seed: UInt64 = 1
  ) {
    self.model = model
    self.methods = methods
    self.sparsities = sparsities
    self.patterns = patterns
    self.scope = scope
    self.trainData = trainData
    self.finetune = finetune
    self.evaluation = evaluation
    self.seed = seed
  }

  /// The canonical bytes the hash is taken of: compact JSON, snake_case keys sorted.
  public func canonicalJSON() throws -> Data {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.nonConformingFloatEncodingStrategy = .throw
    return try encoder.encode(self)
  }

  /// SHA-256 of `canonicalJSON()`, 64 hex digits.
  public func hash() throws -> String { SHA256.hex(try canonicalJSON()) }

  /// Refuses a grid no cell could run, naming the option and what was expected.
  public func validate() throws {
    guard !methods.isEmpty else {
      throw SweepError.invalidSpec(what: "--methods", expected: "at least one method", found: "none")
    }
    for method in methods {
      guard let entry = try? CriterionRegistry.named(method) else {
        throw SweepError.invalidSpec(
          what: "--methods \(method)", expected: "one of \(CriterionRegistry.names.joined(separator: ", "))",
          found: "'\(method)'")
      }
      guard entry.scores != nil else {
        throw SweepError.invalidSpec(
          what: "--methods \(method)", expected: "a criterion that scores weights (magnitude, random, taylor, movement)",
          found: "\(method), which prunes layer by layer from calibration texts (prunekit prune --calib)")
      }
      if entry.needs == .gradients && trainData == nil {
        throw SweepError.invalidSpec(
          what: "--methods \(method)", expected: "--train-data DIR (the gradients come from training images)",
          found: "no --train-data")
      }
    }
    try checkUnique(methods, "--methods")
    guard !patterns.isEmpty else {
      throw SweepError.invalidSpec(what: "--patterns", expected: "at least one pattern", found: "none")
    }
    for pattern in patterns where pattern != "unstructured" && SparsityPattern(argument: pattern) == nil {
      throw SweepError.invalidSpec(
        what: "--patterns \(pattern)", expected: "unstructured, N:M (2:4) or block RxC (4x4)", found: "'\(pattern)'")
    }
    for pattern in patterns {
      if case .nOfM(let n, let m)? = SparsityPattern(argument: pattern), !(n > 0 && n < m) {
        throw SweepError.invalidSpec(what: "--patterns \(pattern)", expected: "N:M with 0 < N < M", found: "'\(pattern)'")
      }
    }
    try checkUnique(patterns, "--patterns")
    if variants.isEmpty || (patterns.contains(where: takesSparsity) && sparsities.isEmpty) {
      throw SweepError.invalidSpec(what: "--sparsities", expected: "at least one sparsity", found: "none")
    }
    for s in sparsities where !(s.isFinite && s >= 0 && s < 1) {
      throw SweepError.invalidSpec(what: "--sparsities \(s)", expected: "numbers in [0, 1)", found: "\(s)")
    }
    try checkUnique(sparsities.map { "\($0)" }, "--sparsities")
    guard ["layer", "global"].contains(scope) else {
      throw SweepError.invalidSpec(what: "--scope \(scope)", expected: "layer or global", found: "'\(scope)'")
    }
    if let finetune {
      guard trainData != nil else {
        throw SweepError.invalidSpec(what: "--finetune", expected: "--train-data DIR to train on", found: "no --train-data")
      }
      guard finetune.epochs >= 1, finetune.learningRate.isFinite, finetune.learningRate > 0 else {
        throw SweepError.invalidSpec(
          what: "--finetune", expected: "≥ 1 epoch at a finite learning rate > 0",
          found: "\(finetune.epochs) epochs at \(finetune.learningRate)")
      }
    }
    if let groups = evaluation.groups {
      do { _ = try EvaluationOptions.Groups(parsing: groups) } catch {
        throw SweepError.invalidSpec(what: "--groups \(groups)", expected: "classes, column:NAME or rules:FILE", found: "'\(groups)'")
      }
    }
    if let filter = evaluation.filter {
      do { _ = try RowFilter(parsing: filter, option: "--filter") } catch {
        throw SweepError.invalidSpec(what: "--filter \(filter)", expected: "COLUMN>=NUMBER (or <=, ==, >, <)", found: "'\(filter)'")
      }
    }
    if let n = evaluation.probeSample, n < 3 {
      throw SweepError.invalidSpec(what: "--probe-sample \(n)", expected: "at least 3 rows", found: "\(n)")
    }
    let known = EvaluationOptions.imageCorruptions + EvaluationOptions.textCorruptions
    for name in evaluation.corruptions ?? [] where !known.contains(name) {
      throw SweepError.invalidSpec(
        what: "--corruptions \(name)", expected: "one of \(known.joined(separator: ", "))", found: "'\(name)'")
    }
    guard ["test", "validation"].contains(evaluation.split) else {
      throw SweepError.invalidSpec(
        what: "--eval-split \(evaluation.split)", expected: "test or validation", found: "'\(evaluation.split)'")
    }
  }

  /// Names of the fields that differ from `other` (for the message refusing a mixed-up folder).
  public func differences(from other: SweepSpec) -> [String] {
    var out: [String] = []
    func check<T: Equatable>(_ name: String, _ a: T, _ b: T) { if a != b { out.append("\(name) \(b) → \(a)") } }
    check("model", model, other.model)
    check("methods", methods, other.methods)
    check("sparsities", sparsities, other.sparsities)
    check("patterns", patterns, other.patterns)
    check("scope", scope, other.scope)
    check("train data", trainData ?? "none", other.trainData ?? "none")
    check("finetune", finetune.map { "\($0)" } ?? "none", other.finetune.map { "\($0)" } ?? "none")
    check("eval", "\(evaluation)", "\(other.evaluation)")
    check("seed", seed, other.seed)
    return out
  }

  private func checkUnique(_ values: [String], _ flag: String) throws {
    var seen = Set<String>()
    for v in values where !seen.insert(v).inserted {
      throw SweepError.invalidSpec(what: flag, expected: "each value once", found: "'\(v)' twice")
    }
  }
}
