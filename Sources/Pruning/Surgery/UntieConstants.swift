import ModelGraph
import TensorCore

/// Gives every layer its own parameters before structured surgery.
///
/// Exporters share constants: PyTorch's TorchScript exporter keeps one copy of equal initializers
/// (e.g. the zero biases of fresh layers) and feeds the other layers an `Identity` of it; hand-made
/// graphs may feed one initializer to several nodes. A structured cut slices each layer's parameters to
/// that layer's kept channels, so a shared tensor would be cut twice (or not at all): the result is a
/// broken graph. This pass
/// 1. replaces each `Identity` of a constant by an initializer of its own (named as the Identity's
///    output), unless that output is a graph output;
/// 2. gives every extra float consumer of a float initializer a private copy named
///    `<name>__<consumer node>`.
/// The function computed by the graph is unchanged; only (tied) weights may be duplicated. Returns
/// copy → source, for `retieUnchangedConstants` after the cut.
@discardableResult
public func untieSharedConstants(in graph: inout Graph) -> [String: String] {
  var copies: [String: String] = [:]
  let outputs = Set(graph.outputs.map(\.name))
  // 1. Identity(constant) → a constant of its own.
  var dropped = Set<Int>()
  for (index, node) in graph.nodes.enumerated() where node.opType == "Identity" && node.inputs.count == 1 {
    guard let value = node.outputs.first, !outputs.contains(value),
      let tensor = constantTensor(node.inputs[0], in: graph), graph.initializers[value] == nil
    else { continue }
    graph.setInitializer(value, tensor)
    if graph.initializers[node.inputs[0]] != nil { copies[value] = node.inputs[0] }
    dropped.insert(index)
  }
  if !dropped.isEmpty {
    graph.nodes = graph.nodes.enumerated().filter { !dropped.contains($0.offset) }.map(\.element)
  }
  // 2. One consumer per float initializer of rank ≥ 1; later consumers get a copy.
  var seen = Set<String>()
  for index in graph.nodes.indices {
    let node = graph.nodes[index]
    for (slot, name) in node.inputs.enumerated() where !name.isEmpty {
      guard let tensor = graph.initializers[name], tensor.dtype == .float32, tensor.rank >= 1 else {
        continue
      }
      if seen.insert(name).inserted { continue }
      var copy = "\(name)__\(node.name.isEmpty ? "node\(index)" : node.name)"
      var k = 1
      while graph.initializers[copy] != nil {
        k += 1
        copy = "\(name)__\(node.name)_\(k)"
      }
      graph.setInitializer(copy, tensor)
      if let mask = graph.masks[name] { graph.masks[copy] = mask }
      graph.nodes[index].inputs[slot] = copy
      copies[copy] = name
    }
  }
  return copies
}

/// Undoes `untieSharedConstants` where the cut left a copy equal to its source (same shape, values and
/// mask): its readers read the source again and the copy goes, so uncut tied weights stay shared.
public func retieUnchangedConstants(_ copies: [String: String], in graph: inout Graph) {
  let outputs = Set(graph.outputs.map(\.name))
  for (copy, source) in copies.sorted(by: { $0.key < $1.key }) where !outputs.contains(copy) {
    guard let a = graph.initializers[copy], let b = graph.initializers[source], a == b,
      graph.masks[copy] == graph.masks[source]
    else { continue }
    for i in graph.nodes.indices {
      for j in graph.nodes[i].inputs.indices where graph.nodes[i].inputs[j] == copy {
        graph.nodes[i].inputs[j] = source
      }
    }
    graph.removeInitializer(copy)
    graph.masks[copy] = nil
  }
}
