import ModelGraph

/// Errors of the pruning engine. Each names the node or parameter, and what was expected vs found.
public enum PruningError: Error, CustomStringConvertible, Equatable {
  /// A parameter the plan names is not an initializer of the graph.
  case missingParameter(name: String)
  /// A parameter has a shape or dtype the operation cannot work with.
  case unsupportedParameter(name: String, expected: String, found: String)
  /// An argument out of its valid range (sparsity outside [0, 1), N > M, …).
  case invalidArgument(what: String, expected: String, found: String)
  /// The coupling analysis met a node it cannot see through while a cut dimension flows into it.
  case unsupportedCoupling(node: String, opType: String, reason: String)
  /// A structured plan asks to cut a group that cannot be cut (reaches a graph output, …).
  case groupNotPrunable(group: String, reason: String)
  /// A gradient, evaluation or recovery callback failed or returned something unusable.
  case callbackFailed(what: String, reason: String)

  public var description: String {
    switch self {
    case .missingParameter(let name):
      return "parameter '\(name)' is not an initializer of the graph"
    case .unsupportedParameter(let name, let expected, let found):
      return "parameter '\(name)': expected \(expected), found \(found)"
    case .invalidArgument(let what, let expected, let found):
      return "\(what): expected \(expected), found \(found)"
    case .unsupportedCoupling(let node, let opType, let reason):
      return "node '\(node)' (\(opType)): \(reason); structured pruning cannot cut through it"
        + " (hint: exclude this group or prune unstructured)"
    case .groupNotPrunable(let group, let reason):
      return "group \(group) cannot be pruned: \(reason)"
    case .callbackFailed(let what, let reason):
      return "\(what) failed: \(reason)"
    }
  }
}
