import Foundation
import ModelGraph
import Pruning

/// The saved plan of `prunekit plan` (schema `prunekit.plan` v1, snake_case JSON): one candidate per
/// layer, what it is predicted to cost and lose, the whole model's predicted and re-measured latency,
/// and the cost table it was chosen from. `prunekit prune --plan` applies it.
public struct HardwareAwarePlan: Codable, Sendable, Equatable {
  public static let schemaName = "prunekit.plan"
  public static let currentSchemaVersion = 1

  public struct Layer: Codable, Sendable, Equatable {
    public var layer: String
    public var node: String
    public var candidate: PruningCandidate
    public var predictedLoss: Double
    /// Predicted milliseconds of the layer in the planned model: its measured time with its candidate,
    /// narrowed by the chosen cuts of other layers it is a member of (`CostTable.composed`); and dense.
    public var milliseconds: Double
    public var denseMilliseconds: Double
    /// Modelled microjoules per run.
    public var microjoules: Double
    public var kernels: [String]
  }

  public var schema = HardwareAwarePlan.schemaName
  public var schemaVersion = HardwareAwarePlan.currentSchemaVersion
  public var model: String
  public var cpu: String
  public var batch: Int
  public var threads: Int
  /// Token positions per input row (transformers); nil for image models.
  public var sequence: Int?
  /// What the timing inputs were, e.g. "MNIST validation images" or "seeded token ids".
  public var timingInputs: String
  /// Seed of seeded timing inputs.
  public var seed: UInt64
  /// The budget as asked, e.g. "speed-up ≥ 2×".
  public var target: String
  public var targetMilliseconds: Double?
  /// What the predicted loss is a loss of, and its dense value.
  public var quality: String
  public var baselineQuality: Double
  public var denseMilliseconds: Double
  public var predictedMilliseconds: Double
  /// The planned model re-measured whole (same inputs, batch, threads).
  public var measuredMilliseconds: Double
  public var predictedLoss: Double
  public var denseMicrojoules: Double
  public var predictedMicrojoules: Double
  /// Budget the knapsack's cost discretisation may leave unused, ms.
  public var discretisationMilliseconds: Double
  /// The chosen cuts' change to the ops that are no layer (pooling, activations, attention products),
  /// measured inside the cut models; nil in plans written before it was measured.
  public var surroundingMilliseconds: Double?
  public var attempts: [HardwareAwarePlanner.Attempt]
  public var layers: [Layer]
  public var costTable: CostTable

  public var predictedSpeedup: Double { denseMilliseconds / predictedMilliseconds }
  public var measuredSpeedup: Double { denseMilliseconds / measuredMilliseconds }

  /// Layer → candidate, dense layers left out.
  public var choices: [String: PruningCandidate] {
    Dictionary(uniqueKeysWithValues: layers.filter { $0.candidate.kind != .dense }.map { ($0.layer, $0.candidate) })
  }

  static func coders() -> (JSONEncoder, JSONDecoder) {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    encoder.nonConformingFloatEncodingStrategy = .throw
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return (encoder, decoder)
  }

  public func encoded() throws -> Data { try Self.coders().0.encode(self) }

  /// Written atomically: a failed run leaves no half-written plan.
  public func write(to path: String) throws { try AtomicFile.write(encoded(), to: path) }

  /// Reads a plan; another file, another schema, a newer version or an invalid candidate is an error
  /// naming the path.
  public static func read(from path: String) throws -> HardwareAwarePlan {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw ModelGraphError.unreadable(path: path, reason: "cannot read the plan file")
    }
    struct Header: Decodable {
      var schema: String?
      var schemaVersion: Int?
    }
    let decoder = coders().1
    guard let header = try? decoder.decode(Header.self, from: data) else {
      throw ModelGraphError.unreadable(path: path, reason: "not a JSON object (expected a \(schemaName) file)")
    }
    guard header.schema == schemaName else {
      throw ModelGraphError.unreadable(
        path: path, reason: "schema is \(header.schema.map { "'\($0)'" } ?? "missing"), expected '\(schemaName)'")
    }
    guard let version = header.schemaVersion, (1...currentSchemaVersion).contains(version) else {
      throw ModelGraphError.unreadable(
        path: path, reason: "schema_version \(header.schemaVersion.map(String.init) ?? "missing") is not 1")
    }
    let plan: HardwareAwarePlan
    do { plan = try decoder.decode(HardwareAwarePlan.self, from: data) } catch {
      throw ModelGraphError.unreadable(path: path, reason: "not a valid plan (\(error))")
    }
    for layer in plan.layers where !layer.candidate.isValid {
      throw ModelGraphError.unreadable(path: path, reason: "layer '\(layer.layer)': invalid candidate \(layer.candidate)")
    }
    return plan
  }

  /// Builds the saved form of a planner result.
  public init(
    model: String, table: CostTable, result: HardwareAwarePlanner.Result, target: String,
    targetSeconds: Double?, quality: QualityProbe, baseline: Double, sequence: Int?, timingInputs: String,
    seed: UInt64
  ) {
    self.seed = seed
    self.model = model
    cpu = table.cpu
    batch = table.batch
    threads = table.threads
    self.sequence = sequence
    self.timingInputs = timingInputs
    self.target = target
    targetMilliseconds = targetSeconds.map { $0 * 1e3 }
    self.quality = quality.name
    baselineQuality = baseline
    denseMilliseconds = table.denseSeconds * 1e3
    predictedMilliseconds = result.allocation.predictedSeconds * 1e3
    measuredMilliseconds = result.measured.median * 1e3
    predictedLoss = result.allocation.predictedLoss
    denseMicrojoules = table.denseJoules * 1e6
    predictedMicrojoules = result.allocation.predictedJoules * 1e6
    discretisationMilliseconds = result.allocation.discretisationError * 1e3
    attempts = result.attempts
    let composed = table.composed(result.allocation.choice)
    surroundingMilliseconds = composed.surrounding * 1e3
    layers = zip(table.layers, result.allocation.choice).enumerated().map { l, pair in
      let (layer, i) = pair
      let o = layer.options[i]
      return Layer(
        layer: layer.layer, node: layer.node, candidate: o.candidate, predictedLoss: o.loss,
        milliseconds: composed.layers[l] * 1e3, denseMilliseconds: layer.options[0].seconds * 1e3,
        microjoules: o.joules * 1e6, kernels: o.kernels)
    }
    costTable = table
  }
}
