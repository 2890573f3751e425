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
  /// Structured: instead of `ratio`, remove this fraction of the model's parameters or MACs (the
  /// same fraction of every group, found by bisection; Torch-Pruning's `pruning_ratio` by MACs).
  public var target: StructuredTarget?
  /// Layers never pruned (Torch-Pruning's `ignored_layers`): node or initializer names, or a module
  /// prefix (`encoder.layer.0` covers `encoder.layer.0.attention.self.query`). A structured group
  /// with any member in an ignored layer is left whole.
  public var ignore: [String] = []
  public var seed: UInt64 = 1

  public init() {}
}

/// What a structured run must remove: a fraction of all parameters or of all MACs.
public enum StructuredTarget: Sendable, Equatable {
  case parameters(Double)
  case macs(Double)
}

/// Per-layer and total effect of a pruning run (what the CLI prints and `--json` writes).
public struct PruneSummary: Sendable, Codable {
  /// One structured group's cut: which units (channels, neurons, heads) went.
  public struct Removal: Sendable, Codable {
    /// The layer that creates the units (for heads: the query projection).
    public var layer: String
    /// "channels" or "heads".
    public var unit: String
    public var before: Int
    public var after: Int
    /// Indices of the removed units, ascending.
    public var removed: [Int]
  }

  public struct Layer: Sendable, Codable {
    public var name: String
    public var shapeBefore: [Int]
    public var shapeAfter: [Int]
    /// Non-zero fraction of the weight as it is after pruning.
    public var kept: Double

    /// Non-zero elements after over elements before: a structured cut counts as removed.
    public var keptOfOriginal: Double {
      let before = shapeBefore.reduce(1, *)
      let after = shapeAfter.reduce(1, *)
      return before == 0 ? 0 : kept * Double(after) / Double(before)
    }
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
  /// Structured runs: the units removed per group, the per-group ratio used, groups left whole.
  public var removals: [Removal] = []
  public var structuredRatio: Double?
  public var ignoredGroups: [String] = []
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
    try checkIgnored(options.ignore, in: graph)
    let parameters = PrunableSelection.default.parameters(in: graph).filter {
      !isIgnored($0, in: graph, options.ignore)
    }
    let criterion = try self.criterion(options, graph: graph, parameters: parameters, gradients: gradients)
    var groupsText: [String] = []
    var skipped: [String] = []
    var removals: [PruneSummary.Removal] = []
    var ignoredGroups: [String] = []
    var usedRatio: Double?
    if let structure = options.structure {
      var groups: [PruningGroup]
      var reasons: [String] = []
      switch structure {
      case .channels:
        let dependencies = DependencyGraph(graph: graph)
        groups = dependencies.prunableGroups
        reasons = dependencies.blockedReasons
      case .heads: groups = try AttentionHeads.groups(in: graph)
      }
      let all = groups
      groups = all.filter { g in !g.members.contains { isIgnored($0.parameter, in: graph, options.ignore) || matches(options.ignore, $0.node) } }
      ignoredGroups = all.filter { g in !groups.contains { $0.id == g.id } }.map(\.name)
      guard !groups.isEmpty else {
        let why =
          reasons.isEmpty ? "" : "; every group is blocked: " + reasons.prefix(4).joined(separator: "; ")
        let ignored = ignoredGroups.isEmpty ? "" : "; \(ignoredGroups.count) left whole by --ignore"
        throw PruningError.invalidArgument(
          what: "structured \(structure.rawValue)", expected: "at least one prunable group",
          found: "none\(why)\(ignored) (prune unstructured with --sparsity instead)")
      }
      let ratio = try structuredRatio(options, graph: graph, groups: groups, criterion: criterion)
      usedRatio = ratio
      let plan = try StructuredPruner(criterion: criterion, ratio: ratio).plan(for: graph, groups: groups)
      try applyStructured(plan, to: &graph)
      retieUnchangedConstants(copies, in: &graph)
      groupsText = groups.map {
        "\($0.description)\n  kept \(plan.kept[$0.id]?.count ?? $0.size) of \($0.size)"
      }
      removals = groups.map { g in
        let kept = Set(plan.kept[g.id] ?? Array(0..<g.size))
        let unit: String
        switch g.kind {
        case .channels: unit = "channels"
        case .heads: unit = "heads"
        }
        return PruneSummary.Removal(
          layer: g.members.first { $0.role == .output }?.node ?? g.name, unit: unit, before: g.size,
          after: kept.count, removed: (0..<g.size).filter { !kept.contains($0) })
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
    result.removals = removals
    result.structuredRatio = usedRatio
    result.ignoredGroups = ignoredGroups
    return result
  }

  /// `options.ratio`, or for a parameter/MAC target the smallest per-group ratio (bisection, to 1e-3)
  /// whose cut removes at least the target fraction. An unreachable target is an error.
  static func structuredRatio(
    _ options: PruneOptions, graph: Graph, groups: [PruningGroup], criterion: any ImportanceCriterion
  ) throws -> Double {
    guard let target = options.target else { return options.ratio }
    func measure(_ g: Graph) throws -> Double {
      let totals = try g.costs(inputShapes: g.inputShapes(sizes: g.symbolicSizes())).totals
      if case .macs = target { return Double(totals.macs) }
      return Double(totals.parameters)
    }
    let goal: Double
    let what: String
    switch target {
    case .parameters(let f): (goal, what) = (f, "parameters")
    case .macs(let f): (goal, what) = (f, "MACs")
    }
    let full = try measure(graph)
    func removedFraction(_ ratio: Double) throws -> Double {
      var trial = graph
      let plan = try StructuredPruner(criterion: criterion, ratio: ratio).plan(for: trial, groups: groups)
      try applyStructured(plan, to: &trial)
      return full > 0 ? 1 - (try measure(trial)) / full : 0
    }
    var (low, high) = (0.0, 0.999)
    let most = try removedFraction(high)
    guard most >= goal else {
      throw PruningError.invalidArgument(
        what: "structured target", expected: "to remove \(goal) of the \(what)",
        found: String(format: "at most %.3f reachable (every group cut to one unit; ungrouped layers stay)", most))
    }
    while high - low > 1e-3 {
      let mid = (low + high) / 2
      if try removedFraction(mid) >= goal { high = mid } else { low = mid }
    }
    return high
  }

  /// `name` equals an ignored name or lies under it as a module prefix (`a.b` covers `a.b.c`, `a.b/x`).
  static func matches(_ ignore: [String], _ name: String) -> Bool {
    ignore.contains { name == $0 || name.hasPrefix($0 + ".") || name.hasPrefix($0 + "/") }
  }

  /// The parameter, or a node that reads it, is ignored.
  static func isIgnored(_ parameter: String, in graph: Graph, _ ignore: [String]) -> Bool {
    guard !ignore.isEmpty else { return false }
    return matches(ignore, parameter) || graph.consumers(of: parameter).contains { matches(ignore, $0.name) }
  }

  /// Every ignored name must name something in the graph (a typo would silently prune everything).
  public static func checkIgnored(_ ignore: [String], in graph: Graph) throws {
    for name in ignore {
      let found =
        graph.initializers.keys.contains { matches([name], $0) } || graph.nodes.contains { matches([name], $0.name) }
      guard found else {
        throw PruningError.invalidArgument(
          what: "--ignore \(name)", expected: "a node or weight name (or a module prefix) of the model",
          found: "nothing by that name")
      }
    }
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
    // MACs at batch 1 and sequence 64, as `inspect` and `energy` count them.
    let first = original ?? before
    let costBefore = try first.costs(inputShapes: first.inputShapes(sizes: first.symbolicSizes()))
    let costAfter = try after.costs(inputShapes: after.inputShapes(sizes: after.symbolicSizes()))
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

  /// Writes the pruned model in the format `path` names (`ModelFile.save`: `.safetensors` carries
  /// the graph, its masks implied by the zeros of the masked weights).
  public static func save(_ graph: Graph, to path: String) throws {
    try ModelFile.save(graph, to: path)
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
