/// Structural checks of a `Graph` (SSA form and topological order, as the ONNX IR spec requires:
/// "each value is produced once; nodes are listed in topological order").
extension Graph {
  /// Throws the first structural defect, naming the node or value:
  /// - node names (non-empty ones) and graph input names are unique;
  /// - every value is produced once: no two node outputs, and no node output equal to a graph input or
  ///   an initializer; graph inputs are not initializers;
  /// - every non-empty node input is a graph input, an initializer or the output of an earlier node;
  /// - every graph output is produced by something.
  public func validate() throws {
    var available: [String: String] = [:]  // value name → what defines it, for messages
    for input in inputs {
      guard available[input.name] == nil else {
        throw ModelGraphError.invalidModel("graph input '\(input.name)' is declared twice")
      }
      guard initializers[input.name] == nil else {
        throw ModelGraphError.invalidModel("graph input '\(input.name)' is also an initializer")
      }
      available[input.name] = "graph input"
    }
    for name in initializers.keys { available[name] = "initializer" }

    let producedLater = Dictionary(
      nodes.flatMap { node in node.outputs.map { ($0, node.name) } }, uniquingKeysWith: { first, _ in first })
    var nodeNames: Set<String> = []
    for node in nodes {
      guard node.name.isEmpty || nodeNames.insert(node.name).inserted else {
        throw ModelGraphError.invalidModel("node name '\(node.name)' is used by more than one node")
      }
      for input in node.inputs where !input.isEmpty && available[input] == nil {
        if let producer = producedLater[input] {
          throw ModelGraphError.invalidModel(
            "node '\(node.name)' (\(node.opType)) reads '\(input)' before node '\(producer)' produces it "
              + "(nodes are not in topological order; call sortTopologically())")
        }
        throw ModelGraphError.missingValue(node: node.name, name: input)
      }
      for output in node.outputs where !output.isEmpty {
        if let previous = available[output] {
          throw ModelGraphError.invalidModel(
            "node '\(node.name)' (\(node.opType)) output '\(output)' is already defined by \(previous)")
        }
        available[output] = "node '\(node.name)'"
      }
    }
    for output in outputs where available[output.name] == nil {
      throw ModelGraphError.invalidModel(
        "graph output '\(output.name)' is produced by no node, initializer or graph input")
    }
  }

  /// Reorders `nodes` so that every node comes after the producers of its inputs, keeping the
  /// existing order where it already is valid (stable Kahn-style passes). Throws `missingValue` for an
  /// input nothing produces and `invalidModel` naming a node on a cycle.
  public mutating func sortTopologically() throws {
    var available = Set(inputs.map(\.name)).union(initializers.keys)
    let produced = Set(nodes.flatMap(\.outputs))
    var remaining = nodes
    var sorted: [Node] = []
    sorted.reserveCapacity(nodes.count)
    while !remaining.isEmpty {
      var next: [Node] = []
      for node in remaining {
        if node.inputs.allSatisfy({ $0.isEmpty || available.contains($0) }) {
          sorted.append(node)
          available.formUnion(node.outputs)
        } else {
          next.append(node)
        }
      }
      if next.count == remaining.count {
        for node in next {
          for input in node.inputs
          where !input.isEmpty && !available.contains(input) && !produced.contains(input) {
            throw ModelGraphError.missingValue(node: node.name, name: input)
          }
        }
        let node = next[0]
        let waiting = node.inputs.first { !$0.isEmpty && !available.contains($0) } ?? ""
        throw ModelGraphError.invalidModel(
          "node '\(node.name)' (\(node.opType)) is on or behind a cycle: "
            + "its input '\(waiting)' can never be computed")
      }
      remaining = next
    }
    nodes = sorted
  }
}
