import ModelGraph
import TensorCore

/// Which units (channels, neurons, heads) of which groups survive. Applying it is `applyStructured`.
public struct StructuredPlan: Sendable {
  public var groups: [PruningGroup]
  /// Group id → kept unit indices, ascending.
  public var kept: [Int: [Int]]

  public init(groups: [PruningGroup], kept: [Int: [Int]]) {
    self.groups = groups
    self.kept = kept
  }

  /// One line per group: name, units before → after.
  public var summary: String {
    groups.map { "\($0.name): \($0.size) → \(kept[$0.id]?.count ?? $0.size)" }.joined(separator: "\n")
  }
}

/// Chooses the units to keep in each group by summed group importance.
///
/// Each group loses round(ratio × size) units (at least one survives); a group over grouped
/// convolutions loses the same number in each conv group so the weights stay rectangular.
public struct StructuredPruner {
  public var criterion: any ImportanceCriterion
  /// Fraction of units to remove from each group, in [0, 1).
  public var ratio: Double

  public init(criterion: any ImportanceCriterion, ratio: Double) {
    self.criterion = criterion
    self.ratio = ratio
  }

  /// A plan over `groups`; a group that is not prunable is an error naming why.
  public func plan(for graph: Graph, groups: [PruningGroup]) throws -> StructuredPlan {
    guard ratio >= 0, ratio < 1 else {
      throw PruningError.invalidArgument(what: "structured ratio", expected: "in [0, 1)", found: "\(ratio)")
    }
    var kept: [Int: [Int]] = [:]
    for group in groups {
      if let reason = group.blockedBy {
        throw PruningError.groupNotPrunable(group: group.name, reason: reason)
      }
      guard group.isPrunable else {
        throw PruningError.groupNotPrunable(group: group.name, reason: "no layer creates its channels")
      }
      let scores = try group.importance(by: criterion, in: graph)
      kept[group.id] = Self.keep(scores: scores, ratio: ratio, blocks: group.balancedBlocks)
    }
    return StructuredPlan(groups: groups, kept: kept)
  }

  /// Kept indices: in each of `blocks` equal contiguous blocks, the highest scores (lower index on ties).
  static func keep(scores: [Double], ratio: Double, blocks: Int) -> [Int] {
    let blockSize = scores.count / blocks
    let keepPerBlock = max(1, blockSize - Int((ratio * Double(blockSize)).rounded()))
    var result: [Int] = []
    for b in 0..<blocks {
      let range = Array(b * blockSize..<(b + 1) * blockSize)
      let ranked = range.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
      result += ranked.prefix(keepPerBlock)
    }
    return result.sorted()
  }
}

/// Structured pruning in one call: every prunable group of `graph` (channels), or the groups
/// selected by `filter`, loses `ratio` of its units by `criterion`; the graph is rewritten smaller.
@discardableResult
public func pruneStructured(
  _ graph: inout Graph, criterion: any ImportanceCriterion, ratio: Double,
  groups: [PruningGroup]? = nil
) throws -> StructuredPlan {
  let copies = groups == nil ? prepareForStructuredPruning(&graph) : [:]
  let chosen = groups ?? DependencyGraph(graph: graph).prunableGroups
  let plan = try StructuredPruner(criterion: criterion, ratio: ratio).plan(for: graph, groups: chosen)
  try applyStructured(plan, to: &graph)
  retieUnchangedConstants(copies, in: &graph)
  return plan
}
