import Foundation

/// One model's measured facts from one run: what `prunekit eval` writes, what each sweep cell writes,
/// and what `prunekit report` reads. Plain values only; every section is optional because a run
/// measures what its inputs allow (an embedding model has fidelity, not accuracy).
///
/// On disk it is JSON with snake_case keys, `"schema": "prunekit.run"` and a `schema_version`;
/// sections are only ever added (as optionals), never renamed, so old files stay readable.
public struct RunRecord: Codable, Sendable, Equatable {
  public static let schemaName = "prunekit.run"
  public static let currentSchemaVersion = 1

  public var schema: String
  public var schemaVersion: Int
  /// A short name for the row in a report (e.g. "magnitude 90%"); defaults to the model's file name.
  public var label: String
  public var model: ModelFacts
  public var recipe: RecipeFacts?
  public var data: DataFacts?
  public var accuracy: AccuracyFacts?
  public var groups: GroupFacts?
  public var agreement: AgreementFacts?
  public var calibration: CalibrationFacts?
  public var robustness: [RobustnessFacts]?
  public var fidelity: FidelityFacts?
  public var latency: LatencyFacts?
  public var energy: EnergyFacts?
  /// The same facts for the dense reference, measured in the same run, where one was given.
  public var dense: DenseFacts?
  /// Free-form provenance lines (tool version, CPU, dates, what was tuned on which split).
  public var notes: [String]?
  /// Set on a sweep cell's record: which sweep (its spec hash) and which cell it is.
  public var sweep: SweepFacts?
  /// A planned model (`prunekit plan`): what the cost table predicted, beside the measured `latency`.
  public var prediction: PredictionFacts?

  public init(label: String, model: ModelFacts) {
    self.schema = Self.schemaName
    self.schemaVersion = Self.currentSchemaVersion
    self.label = label
    self.model = model
  }
}

extension RunRecord {
  public struct ModelFacts: Codable, Sendable, Equatable {
    public var path: String
    public var format: String
    /// The model file's real bytes on disk (a folder: the sum of its files).
    public var sizeBytes: Int
    public var parameters: Int
    public var nonzeroParameters: Int
    /// Multiply-accumulates of one inference at `macsInput` (e.g. "1×1×28×28", "1×64 tokens").
    public var macs: Int?
    public var macsInput: String?

    public init(
      path: String, format: String, sizeBytes: Int, parameters: Int, nonzeroParameters: Int,
      macs: Int? = nil, macsInput: String? = nil
    ) {
      self.path = path
      self.format = format
      self.sizeBytes = sizeBytes
      self.parameters = parameters
      self.nonzeroParameters = nonzeroParameters
      self.macs = macs
      self.macsInput = macsInput
    }

    public var sparsity: Double {
      parameters == 0 ? 0 : 1 - Double(nonzeroParameters) / Double(parameters)
    }
  }

  /// How the model was made, where known (a sweep cell always knows).
  public struct RecipeFacts: Codable, Sendable, Equatable {
    public var method: String
    public var targetSparsity: Double?
    /// "unstructured", "2:4", "block 4x4", "channels", "heads", …
    public var pattern: String?
    public var schedule: String?
    public var finetune: String?
    public var seed: Int?
    public var denseModel: String?

    public init(
      method: String, targetSparsity: Double? = nil, pattern: String? = nil, schedule: String? = nil,
      finetune: String? = nil, seed: Int? = nil, denseModel: String? = nil
    ) {
      self.method = method
      self.targetSparsity = targetSparsity
      self.pattern = pattern
      self.schedule = schedule
      self.finetune = finetune
      self.seed = seed
      self.denseModel = denseModel
    }
  }

  public struct DataFacts: Codable, Sendable, Equatable {
    /// The data source as given on the command line (a folder, `FILE.csv:TEXT:LABEL`, …).
    public var source: String
    /// "test", "validation (last 10% of train, seed 1)", …
    public var split: String
    public var sampleCount: Int
    public var seed: Int?

    public init(source: String, split: String, sampleCount: Int, seed: Int? = nil) {
      self.source = source
      self.split = split
      self.sampleCount = sampleCount
      self.seed = seed
    }
  }

  public struct ClassFacts: Codable, Sendable, Equatable {
    public var label: Int
    public var name: String?
    public var support: Int
    public var precision: Double?
    public var recall: Double?
    public var f1: Double?

    public init(
      label: Int, name: String? = nil, support: Int, precision: Double?, recall: Double?, f1: Double?
    ) {
      self.label = label
      self.name = name
      self.support = support
      self.precision = precision
      self.recall = recall
      self.f1 = f1
    }
  }

  public struct AccuracyFacts: Codable, Sendable, Equatable {
    public var top1: Double
    /// Top-k accuracies keyed by k ("5": 0.99).
    public var topK: [String: Double]?
    public var macroF1: Double?
    public var perClass: [ClassFacts]?
    public var confusion: [[Int]]?

    public init(
      top1: Double, topK: [String: Double]? = nil, macroF1: Double? = nil, perClass: [ClassFacts]? = nil,
      confusion: [[Int]]? = nil
    ) {
      self.top1 = top1
      self.topK = topK
      self.macroF1 = macroF1
      self.perClass = perClass
      self.confusion = confusion
    }
  }

  public struct GroupFacts: Codable, Sendable, Equatable {
    public struct Group: Codable, Sendable, Equatable {
      public var name: String
      public var count: Int
      public var accuracy: Double
      /// The dense model's accuracy on the same group, where a dense model was given.
      public var denseAccuracy: Double?

      public init(name: String, count: Int, accuracy: Double, denseAccuracy: Double? = nil) {
        self.name = name
        self.count = count
        self.accuracy = accuracy
        self.denseAccuracy = denseAccuracy
      }
    }

    /// What the groups are: "classes", "column sentiment", "rules groups.txt".
    public var definition: String
    public var groups: [Group]
    public var worstGroupAccuracy: Double
    /// Best minus worst group accuracy.
    public var largestGap: Double

    public init(definition: String, groups: [Group], worstGroupAccuracy: Double, largestGap: Double) {
      self.definition = definition
      self.groups = groups
      self.worstGroupAccuracy = worstGroupAccuracy
      self.largestGap = largestGap
    }
  }

  public struct AgreementFacts: Codable, Sendable, Equatable {
    public struct Exemplar: Codable, Sendable, Equatable {
      public var index: Int
      public var label: Int?
      public var dense: Int
      public var pruned: Int
      public var group: String?

      public init(index: Int, label: Int?, dense: Int, pruned: Int, group: String? = nil) {
        self.index = index
        self.label = label
        self.dense = dense
        self.pruned = pruned
        self.group = group
      }
    }

    public var sampleCount: Int
    /// Fraction of inputs whose top-1 prediction differs from the dense model's.
    public var flipRate: Double
    /// Flips from right to wrong and from wrong to right.
    public var lost: Int
    public var gained: Int
    /// Pruning-identified exemplars (Hooker et al. 2019): the inputs where dense and pruned disagree.
    public var exemplars: [Exemplar]
    /// Flips counted per group (all of them, while `exemplars` may be capped). Added by eval.
    public var flipsByGroup: [GroupFlips]?

    public struct GroupFlips: Codable, Sendable, Equatable {
      public var group: String
      public var count: Int
      public var flips: Int

      public init(group: String, count: Int, flips: Int) {
        self.group = group
        self.count = count
        self.flips = flips
      }
    }

    public init(sampleCount: Int, flipRate: Double, lost: Int, gained: Int, exemplars: [Exemplar]) {
      self.sampleCount = sampleCount
      self.flipRate = flipRate
      self.lost = lost
      self.gained = gained
      self.exemplars = exemplars
    }
  }

  public struct CalibrationFacts: Codable, Sendable, Equatable {
    public struct Bin: Codable, Sendable, Equatable {
      public var lower: Double
      public var upper: Double
      public var count: Int
      public var meanConfidence: Double
      public var accuracy: Double

      public init(lower: Double, upper: Double, count: Int, meanConfidence: Double, accuracy: Double) {
        self.lower = lower
        self.upper = upper
        self.count = count
        self.meanConfidence = meanConfidence
        self.accuracy = accuracy
      }
    }

    public var ece: Double
    public var bins: [Bin]

    public init(ece: Double, bins: [Bin]) {
      self.ece = ece
      self.bins = bins
    }
  }

  public struct RobustnessFacts: Codable, Sendable, Equatable {
    public var corruption: String
    public var severity: Int
    public var accuracy: Double
    public var denseAccuracy: Double?
    public var seed: Int?
    /// The samples corrupted (the first n evaluated) and both models' accuracy on them uncorrupted,
    /// so that the drop is measured on the same inputs. Added by eval.
    public var sampleCount: Int?
    public var cleanAccuracy: Double?
    public var denseCleanAccuracy: Double?

    public init(corruption: String, severity: Int, accuracy: Double, denseAccuracy: Double? = nil, seed: Int? = nil) {
      self.corruption = corruption
      self.severity = severity
      self.accuracy = accuracy
      self.denseAccuracy = denseAccuracy
      self.seed = seed
    }
  }

  /// For embedding models: cosine similarity of sentence embeddings to the dense model's.
  public struct FidelityFacts: Codable, Sendable, Equatable {
    public var mean: Double
    public var min: Double
    public var count: Int
    /// A linear probe's accuracy on a labelled column, where one was given.
    public var probeAccuracy: Double?

    public init(mean: Double, min: Double, count: Int, probeAccuracy: Double? = nil) {
      self.mean = mean
      self.min = min
      self.count = count
      self.probeAccuracy = probeAccuracy
    }
  }

  public struct LatencyFacts: Codable, Sendable, Equatable {
    public struct KernelShare: Codable, Sendable, Equatable {
      /// "dense", "sparse-csr", "2:4", "int8", …
      public var kernel: String
      public var milliseconds: Double

      public init(kernel: String, milliseconds: Double) {
        self.kernel = kernel
        self.milliseconds = milliseconds
      }
    }

    public var batch: Int
    public var threads: Int
    public var p50Milliseconds: Double
    public var p99Milliseconds: Double
    public var runs: Int
    /// Time per kernel kind, where the executor reported it.
    public var byKernel: [KernelShare]?
    /// The CPU the figures came from (`lscpu` model name).
    public var cpu: String?

    public init(
      batch: Int, threads: Int, p50Milliseconds: Double, p99Milliseconds: Double, runs: Int,
      byKernel: [KernelShare]? = nil, cpu: String? = nil
    ) {
      self.batch = batch
      self.threads = threads
      self.p50Milliseconds = p50Milliseconds
      self.p99Milliseconds = p99Milliseconds
      self.runs = runs
      self.byKernel = byKernel
      self.cpu = cpu
    }
  }

  public struct EnergyFacts: Codable, Sendable, Equatable {
    public var joulesPerInference: Double
    public var co2GramsPerInference: Double?
    /// "measured", "estimated" or "modelled".
    public var provenance: String
    /// How: the meter or model, its constants and their sources.
    public var method: String
    public var gridGramsPerKWh: Double?
    public var pue: Double?

    public init(
      joulesPerInference: Double, co2GramsPerInference: Double?, provenance: String, method: String,
      gridGramsPerKWh: Double? = nil, pue: Double? = nil
    ) {
      self.joulesPerInference = joulesPerInference
      self.co2GramsPerInference = co2GramsPerInference
      self.provenance = provenance
      self.method = method
      self.gridGramsPerKWh = gridGramsPerKWh
      self.pue = pue
    }
  }

  /// A sweep cell's place: the SHA-256 of the sweep's spec (DIR/sweep.json) and the cell index.
  public struct SweepFacts: Codable, Sendable, Equatable {
    public var specHash: String
    public var cell: Int
    public var cellCount: Int

    public init(specHash: String, cell: Int, cellCount: Int) {
      self.specHash = specHash
      self.cell = cell
      self.cellCount = cellCount
    }
  }

  /// The dense reference's headline facts, measured in the same run.
  public struct DenseFacts: Codable, Sendable, Equatable {
    public var path: String
    public var accuracy: Double?
    public var worstGroupAccuracy: Double?
    public var ece: Double?
    public var p50Milliseconds: Double?
    public var joulesPerInference: Double?
    /// The dense model's per-class figures on the same data (for per-class change). Added by eval.
    public var perClass: [ClassFacts]?
    /// The dense model's latency by op and robustness are in `RobustnessFacts.denseAccuracy`.
    public var p99Milliseconds: Double?

    public init(
      path: String, accuracy: Double? = nil, worstGroupAccuracy: Double? = nil, ece: Double? = nil,
      p50Milliseconds: Double? = nil, joulesPerInference: Double? = nil
    ) {
      self.path = path
      self.accuracy = accuracy
      self.worstGroupAccuracy = worstGroupAccuracy
      self.ece = ece
      self.p50Milliseconds = p50Milliseconds
      self.joulesPerInference = joulesPerInference
    }
  }
}

extension RunRecord {
  /// What a hardware-aware plan predicted for the model (its measured latency is in `latency`).
  public struct PredictionFacts: Codable, Sendable, Equatable {
    public var milliseconds: Double
    /// The budget as asked, e.g. "speed-up ≥ 2×".
    public var target: String?
    public var targetMilliseconds: Double?
    /// Predicted quality loss (summed per-layer losses on the selection data).
    public var loss: Double?
    /// The plan file.
    public var plan: String?
    /// Every plan the planner applied and re-measured on the way (the kept one among them).
    public var attempts: [PlanAttempt]?

    public init(
      milliseconds: Double, target: String? = nil, targetMilliseconds: Double? = nil, loss: Double? = nil,
      plan: String? = nil, attempts: [PlanAttempt]? = nil
    ) {
      self.milliseconds = milliseconds
      self.target = target
      self.targetMilliseconds = targetMilliseconds
      self.loss = loss
      self.plan = plan
      self.attempts = attempts
    }
  }

  /// One plan tried: the knapsack's latency budget, the cost table's prediction, the whole model measured.
  public struct PlanAttempt: Codable, Sendable, Equatable {
    public var budgetMilliseconds: Double
    public var predictedMilliseconds: Double
    public var measuredMilliseconds: Double

    public init(budgetMilliseconds: Double, predictedMilliseconds: Double, measuredMilliseconds: Double) {
      self.budgetMilliseconds = budgetMilliseconds
      self.predictedMilliseconds = predictedMilliseconds
      self.measuredMilliseconds = measuredMilliseconds
    }
  }
}

/// A run file that is not a PruneKit run record, names the file and what was expected.
public struct RunRecordError: Error, CustomStringConvertible, Equatable {
  public var path: String
  public var reason: String

  public init(path: String, reason: String) {
    self.path = path
    self.reason = reason
  }

  public var description: String { "\(path): \(reason)" }
}

extension RunRecord {
  private static func encoder() -> JSONEncoder {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    encoder.nonConformingFloatEncodingStrategy = .throw
    return encoder
  }

  /// The record as JSON (snake_case keys, sorted, so equal records give equal bytes).
  public func encoded() throws -> Data {
    try Self.encoder().encode(self)
  }

  /// Writes the record atomically: a failed run leaves no half-written file.
  public func write(to path: String) throws {
    try writeAtomically(encoded(), to: path)
  }

  /// Reads a record, refusing files of another schema or a newer schema version with the path named.
  public static func decode(_ data: Data, path: String) throws -> RunRecord {
    struct Header: Decodable {
      var schema: String?
      var schemaVersion: Int?
    }
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    let header: Header
    do {
      header = try decoder.decode(Header.self, from: data)
    } catch {
      throw RunRecordError(path: path, reason: "not a JSON object (expected a \(schemaName) run record)")
    }
    guard header.schema == schemaName else {
      throw RunRecordError(
        path: path,
        reason: "schema is \(header.schema.map { "'\($0)'" } ?? "missing"), expected '\(schemaName)'")
    }
    guard let version = header.schemaVersion, (1...currentSchemaVersion).contains(version) else {
      throw RunRecordError(
        path: path,
        reason: "schema_version \(header.schemaVersion.map(String.init) ?? "missing") is not one this "
          + "PruneKit reads (1...\(currentSchemaVersion))")
    }
    do {
      return try decoder.decode(RunRecord.self, from: data)
    } catch let DecodingError.keyNotFound(key, context) {
      throw RunRecordError(
        path: path, reason: "missing '\(Self.keyPath(context.codingPath + [key]))'")
    } catch let DecodingError.typeMismatch(_, context) {
      throw RunRecordError(path: path, reason: "wrong type at '\(Self.keyPath(context.codingPath))'")
    } catch let DecodingError.valueNotFound(_, context) {
      throw RunRecordError(path: path, reason: "null at '\(Self.keyPath(context.codingPath))'")
    } catch {
      throw RunRecordError(path: path, reason: "unreadable run record (\(error))")
    }
  }

  public static func read(from path: String) throws -> RunRecord {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw RunRecordError(path: path, reason: "cannot read the file")
    }
    return try decode(data, path: path)
  }

  private static func keyPath(_ path: [any CodingKey]) -> String {
    path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
  }
}
