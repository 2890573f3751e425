import ModelGraph
import TensorCore

/// The structured group a layer's `channels` candidate cuts: the attention-head group whose first
/// projection is the layer, else the coupled channel group the layer creates (first output member).
/// Groups that cannot be cut are never offered.
public struct CandidateGroups: Sendable {
  public let byLayer: [String: PruningGroup]

  /// `graph` must be prepared (`prepareForStructuredPruning`).
  public init(_ graph: Graph) {
    let channels = DependencyGraph(graph: graph).prunableGroups
    let firstID = (channels.map(\.id).max() ?? -1) + 1
    let heads = ((try? AttentionHeads.groups(in: graph, firstID: firstID)) ?? []).filter(\.isPrunable)
    var map: [String: PruningGroup] = [:]
    for group in channels + heads {
      guard let owner = group.members.first(where: { $0.role == .output })?.parameter else { continue }
      if case .heads = group.kind { map[owner] = group } else if map[owner] == nil { map[owner] = group }
    }
    byLayer = map
  }

  /// Kept units of `layer`'s group at `ratio` by magnitude (Torch-Pruning's group L1 importance).
  public func kept(_ layer: String, ratio: Double, in graph: Graph) throws -> (PruningGroup, [Int]) {
    guard let group = byLayer[layer] else {
      throw PruningError.invalidArgument(
        what: "channels candidate of '\(layer)'", expected: "a layer that creates a prunable channel or head group",
        found: "none (its outputs reach a graph output or an op the coupling analysis cannot see through)")
    }
    let plan = try StructuredPruner(criterion: MagnitudeImportance(), ratio: ratio).plan(for: graph, groups: [group])
    return (group, plan.kept[group.id] ?? Array(0..<group.size))
  }
}

/// Applies one candidate per layer to `graph` (layer-wise magnitude scores): the channel and head cuts
/// first, all in one structured plan, then the masks (unstructured, N:M, block) on the weights as cut,
/// zeroed in place. Layers not named stay dense. A layer the graph does not have, a pattern the weight's
/// shape does not fit or a group that cannot be cut is an error naming the layer.
public func applyCandidates(_ choices: [String: PruningCandidate], to graph: inout Graph) throws {
  for (layer, candidate) in choices {
    guard graph.initializers[layer] != nil else { throw PruningError.missingParameter(name: layer) }
    guard candidate.isValid else {
      throw PruningError.invalidArgument(what: "candidate of '\(layer)'", expected: "valid fields", found: "\(candidate)")
    }
  }
  let cuts = choices.filter { $0.value.kind == .channels }.sorted { $0.key < $1.key }
  if !cuts.isEmpty {
    let copies = prepareForStructuredPruning(&graph)
    let groups = CandidateGroups(graph)
    var plan = StructuredPlan(groups: [], kept: [:])
    for (layer, candidate) in cuts {
      let (group, kept) = try groups.kept(layer, ratio: candidate.ratio!, in: graph)
      plan.groups.append(group)
      plan.kept[group.id] = kept
    }
    try applyStructured(plan, to: &graph)
    retieUnchangedConstants(copies, in: &graph)
  }
  for (layer, candidate) in choices.sorted(by: { $0.key < $1.key }) {
    guard let pattern = candidate.pattern else { continue }
    guard pattern.fits(layer, in: graph) else {
      throw PruningError.unsupportedParameter(
        name: layer, expected: "a shape that fits \(pattern)", found: "\(graph.initializers[layer]!.shape)")
    }
    let builder = MaskBuilder(criterion: MagnitudeImportance(), scope: .layer, pattern: pattern)
    try graph.setMasks(builder.masks(for: graph, parameters: [layer], sparsity: candidate.sparsity ?? 0))
  }
}
