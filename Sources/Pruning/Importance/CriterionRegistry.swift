import ModelGraph
import TensorCore

/// What a criterion is built from: the graph it will prune, a seed, and gradients when it needs them.
public struct CriterionInputs {
  public var graph: Graph
  public var seed: UInt64
  /// ∂L/∂w per parameter (Taylor, movement); nil when no training data was given.
  public var gradients: [String: Tensor]?

  public init(graph: Graph, seed: UInt64 = 0, gradients: [String: Tensor]? = nil) {
    self.graph = graph
    self.seed = seed
    self.gradients = gradients
  }
}

/// One named pruning criterion: what it needs and how it is built, as an importance score (masks by
/// scope and pattern), a layer-wise one-shot criterion, or both.
public struct CriterionEntry: Sendable {
  public enum Needs: String, Sendable {
    case weights, seed, gradients, calibration
  }

  public var name: String
  public var summary: String
  public var needs: Needs
  public var scores: (@Sendable (CriterionInputs) throws -> any ImportanceCriterion)?
  public var layerwise: (@Sendable () -> any LayerwiseCriterion)?

  public init(
    name: String, summary: String, needs: Needs,
    scores: (@Sendable (CriterionInputs) throws -> any ImportanceCriterion)? = nil,
    layerwise: (@Sendable () -> any LayerwiseCriterion)? = nil
  ) {
    self.name = name
    self.summary = summary
    self.needs = needs
    self.scores = scores
    self.layerwise = layerwise
  }
}

/// Every criterion by name: adding one is its file (with its `entry`) plus one line here. The CLI's
/// `--method` help and validation come from this table.
public enum CriterionRegistry {
  public static let all: [CriterionEntry] = [
    MagnitudeImportance.entry,
    RandomImportance.entry,
    TaylorImportance.entry,
    MovementImportance.entry,
    WandaImportance.entry,
    SparseGPTImportance.entry,
  ]

  public static var names: [String] { all.map(\.name) }

  /// The entry called `name`, or an error listing the names.
  public static func named(_ name: String) throws -> CriterionEntry {
    guard let entry = all.first(where: { $0.name == name }) else {
      throw PruningError.invalidArgument(
        what: "pruning method", expected: "one of \(names.joined(separator: ", "))", found: "'\(name)'")
    }
    return entry
  }

  /// One line per criterion: "name: summary".
  public static var help: String {
    all.map { "\($0.name): \($0.summary)" }.joined(separator: "; ")
  }
}

extension CriterionInputs {
  /// The gradients, or an error saying that `criterion` needs training data.
  func requireGradients(for criterion: String) throws -> [String: Tensor] {
    guard let gradients else {
      throw PruningError.invalidArgument(
        what: "--method \(criterion)", expected: "gradients from training data (--data)", found: "no data")
    }
    return gradients
  }
}

extension MagnitudeImportance {
  public static let entry = CriterionEntry(
    name: "magnitude", summary: "|w| (Han et al. 2015)", needs: .weights,
    scores: { _ in MagnitudeImportance() }, layerwise: { MagnitudeImportance() })
}

extension RandomImportance {
  public static let entry = CriterionEntry(
    name: "random", summary: "uniform random scores (--seed), the baseline", needs: .seed,
    scores: { RandomImportance(seed: $0.seed) })
}

extension TaylorImportance {
  public static let entry = CriterionEntry(
    name: "taylor", summary: "|w·∂L/∂w| from training data (Molchanov et al. 2019; --data)", needs: .gradients,
    scores: { TaylorImportance(gradients: try $0.requireGradients(for: "taylor")) })
}

extension MovementImportance {
  public static let entry = CriterionEntry(
    name: "movement", summary: "−w·∂L/∂w accumulated over training batches (Sanh et al. 2020; --data)",
    needs: .gradients,
    scores: { inputs in
      var m = MovementImportance()
      try m.accumulate(graph: inputs.graph, gradients: try inputs.requireGradients(for: "movement"))
      return m
    })
}

extension WandaImportance {
  public static let entry = CriterionEntry(
    name: "wanda", summary: "|w|·‖x‖₂ per output row from calibration texts (Sun et al. 2023; --calib)",
    needs: .calibration, layerwise: { WandaImportance() })
}

extension SparseGPTImportance {
  public static let entry = CriterionEntry(
    name: "sparsegpt", summary: "OBS updates with H = 2XXᵀ/n from calibration texts (Frantar & Alistarh 2023; --calib)",
    needs: .calibration, layerwise: { SparseGPTImportance() })
}
