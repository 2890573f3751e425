import Foundation
import ModelGraph
import Pruning
import Runtime

/// What `prunekit prune` does, as a library call: one-shot pruning of a loaded graph by the chosen
/// criterion, scope and pattern, or structured removal of channels or heads.
public struct PruneOptions: Sendable {
  /// A criterion of `CriterionRegistry` by name (validated there).
  public struct Method: RawRepresentable, Sendable, Equatable {
    public var rawValue: String
    public init?(rawValue: String) {
      guard CriterionRegistry.names.contains(rawValue) else { return nil }
      self.rawValue = rawValue
    }
    /// Every registered criterion, in the registry's order.
    public static var allCases: [Method] { CriterionRegistry.names.compactMap(Method.init(rawValue:)) }
    public static let magnitude = Method(rawValue: "magnitude")!
    public static let random = Method(rawValue: "random")!
    public static let taylor = Method(rawValue: "taylor")!
  }
  public enum Structure: String, Sendable, CaseIterable { case channels, heads }

  public var method: Method = .magnitude
  public var scope: PruningScope = .layer
  public var sparsity: Double = 0.5
  public var pattern: SparsityPattern = .unstructured
  /// Structured removal instead of masks; `ratio` of each group's units go.
  public var structure: Structure?
  public var ratio: Double = 0.5
  public var seed: UInt64 = 0

  public init() {}
}

/// Per-layer and total effect of a pruning run (what the CLI prints and `--json` writes).
public struct PruneSummary: Sendable, Codable {
  public struct Layer: Sendable, Codable {
    public var name: String
    public var shapeBefore: [Int]
    public var shapeAfter: [Int]
    public var kept: Double
  }

  public var layers: [Layer]
  public var parametersBefore: Int
  public var parametersAfter: Int
  public var nonzeroAfter: Int
  public var macsBefore: Int
  public var macsAfter: Int
  public var nonzeroMACsAfter: Int
  /// Printed coupled groups (structured runs).
  public var groups: [String]
  /// Weights left dense because their shape does not fit the N:M or block pattern.
  public var skipped: [String] = []
  /// The model stored float16/bfloat16/float64 values; it was pruned and is written as Float32.
  public var widenedToFloat32 = false
}

public enum PruneRecipe {
  /// Prunes `graph` in place; `gradients` is needed for Taylor importance.
  public static func prune(
    _ graph: inout Graph, options: PruneOptions, gradients: (any GradientSource)? = nil
  ) throws -> PruneSummary {
    // Pruning scores, masks and cuts Float32 weights: a float16/bfloat16/float64 model is pruned (and
    // written) as the same graph computing in Float32.
    let widened = graph.storesOtherFloatTypes
    if widened { graph = graph.computingInFloat32() }
    // Exporters share equal initializers between layers; a structured cut needs them per layer.
    let original = graph
    let copies = options.structure != nil ? prepareForStructuredPruning(&graph) : [:]
    let before = graph
    let parameters = PrunableSelection.default.parameters(in: graph)
    let criterion = try self.criterion(options, graph: graph, parameters: parameters, gradients: gradients)
    var groupsText: [String] = []
    var skipped: [String] = []
    if let structure = options.structure {
      let groups: [PruningGroup]
      var reasons: [String] = []
      switch structure {
      case .channels:
        let dependencies = DependencyGraph(graph: graph)
        groups = dependencies.prunableGroups
        reasons = dependencies.blockedReasons
      case .heads: groups = try AttentionHeads.groups(in: graph)
      }
      guard !groups.isEmpty else {
        let why =
          reasons.isEmpty ? "" : "; every group is blocked: " + reasons.prefix(4).joined(separator: "; ")
        throw PruningError.invalidArgument(
          what: "structured \(structure.rawValue)", expected: "at least one prunable group",
          found: "none\(why) (prune unstructured with --sparsity instead)")
      }
      let plan = try StructuredPruner(criterion: criterion, ratio: options.ratio).plan(
        for: graph, groups: groups)
      try applyStructured(plan, to: &graph)
      retieUnchangedConstants(copies, in: &graph)
      groupsText = groups.map {
        "\($0.description)\n  kept \(plan.kept[$0.id]?.count ?? $0.size) of \($0.size)"
      }
    } else {
      // Weights whose shape does not fit an N:M or block pattern (a stem conv with 3 input channels,
      // a 10-class head) stay dense and are listed, rather than failing the whole model.
      let fitting = parameters.filter { options.pattern.fits($0, in: graph) }
      skipped = parameters.filter { !fitting.contains($0) }
      guard !parameters.isEmpty else {
        throw PruningError.invalidArgument(
          what: "prune", expected: "Float32 Conv/ConvTranspose/Gemm/MatMul weights (initializers)",
          found: "none in this model")
      }
      guard !fitting.isEmpty else {
        let example = parameters.first.map { " (e.g. '\($0)' \(graph.initializers[$0]?.shape ?? []))" } ?? ""
        throw PruningError.invalidArgument(
          what: "pattern \(options.pattern)", expected: "at least one weight whose shape fits it",
          found: "none of \(parameters.count)\(example)")
      }
      let builder = MaskBuilder(criterion: criterion, scope: options.scope, pattern: options.pattern)
      try graph.setMasks(builder.masks(for: graph, parameters: fitting, sparsity: options.sparsity))
    }
    var result = try summary(
      before: before, original: original, after: graph, parameters: parameters, groups: groupsText)
    result.skipped = skipped
    result.widenedToFloat32 = widened
    return result
  }

  static func criterion(
    _ options: PruneOptions, graph: Graph, parameters: [String], gradients: (any GradientSource)?
  ) throws -> any ImportanceCriterion {
    let entry = try CriterionRegistry.named(options.method.rawValue)
    guard let make = entry.scores else {
      throw PruningError.invalidArgument(
        what: "--method \(entry.name)", expected: "calibration texts (--calib FILE.csv:COLUMN[:ROWS])",
        found: "none; \(entry.name) prunes layer by layer from calibration data")
    }
    var inputs = CriterionInputs(graph: graph, seed: options.seed)
    if entry.needs == .gradients, var source = gradients {
      // Structured groups also read biases and norm parameters: ask for every float initializer.
      let names =
        options.structure == nil
        ? parameters : graph.initializerOrder.filter { graph.initializers[$0]?.dtype == .float32 }
      inputs.gradients = try source.gradients(of: graph, for: names)
    }
    return try make(inputs)
  }

  /// `before`: the graph as pruned (names of untied copies); `original`: as loaded (costs).
  static func summary(
    before: Graph, original: Graph? = nil, after: Graph, parameters: [String], groups: [String]
  ) throws
    -> PruneSummary
  {
    let costBefore = try (original ?? before).costs(inputShapes: (original ?? before).inputShapes())
    let costAfter = try after.costs(inputShapes: after.inputShapes())
    let kept = after.keptFractions(of: parameters)
    let layers = parameters.map { name in
      PruneSummary.Layer(
        name: name, shapeBefore: before.initializers[name]?.shape ?? [],
        shapeAfter: after.initializers[name]?.shape ?? [], kept: kept[name] ?? 0)
    }
    return PruneSummary(
      layers: layers, parametersBefore: costBefore.totals.parameters,
      parametersAfter: costAfter.totals.parameters,
      nonzeroAfter: costAfter.totals.nonzeroParameters, macsBefore: costBefore.totals.macs,
      macsAfter: costAfter.totals.macs, nonzeroMACsAfter: costAfter.totals.nonzeroMACs, groups: groups)
  }

  /// Writes the pruned model: `.safetensors` holds the weights (and masks as `<name>.mask`), any
  /// other extension goes through `ModelFile.save` (ONNX).
  public static func save(_ graph: Graph, to path: String) throws {
    if (path as NSString).pathExtension.lowercased() == "safetensors" {
      var tensors = graph.initializers
      for (name, mask) in graph.masks { tensors["\(name).mask"] = mask }
      try SafeTensorsWriter.write(tensors, metadata: ["producer": "prunekit prune"], to: path)
    } else {
      try ModelFile.save(graph, to: path)
    }
  }
}

extension SparsityPattern {
  /// Parses "2:4" (N:M) or "4x4" / "1x4" (block).
  public init?(argument: String) {
    let nm = argument.split(separator: ":").compactMap { Int($0) }
    if nm.count == 2 {
      self = .nOfM(n: nm[0], m: nm[1])
      return
    }
    let block = argument.lowercased().split(separator: "x").compactMap { Int($0) }
    if block.count == 2 {
      self = .block(rows: block[0], cols: block[1])
      return
    }
    return nil
  }
}
