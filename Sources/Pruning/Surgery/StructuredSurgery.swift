import ModelGraph
import TensorCore

/// Physically removes the pruned units of `plan` from `graph`: every member dimension is sliced to the
/// kept indices (weights, biases, norm parameters, masks), depthwise `group` attributes, `num_heads`
/// attributes and shape constants follow. The result is an ordinary dense graph.
public func applyStructured(_ plan: StructuredPlan, to graph: inout Graph) throws {
  // (parameter, axis) → removed element indices, gathered over all groups first: one tensor can hold
  // several members (a Gemm reading a Concat has one per concatenated run).
  var removed: [String: [Int: Set<Int>]] = [:]
  var grouped: [(member: GroupMember, kept: Set<Int>)] = []
  for group in plan.groups {
    guard let kept = plan.kept[group.id] else { continue }
    guard kept.allSatisfy({ $0 >= 0 && $0 < group.size }), !kept.isEmpty else {
      throw PruningError.invalidArgument(
        what: "kept units of group \(group.name)", expected: "1…\(group.size) indices in 0..<\(group.size)",
        found: "\(kept.count) indices")
    }
    let keptSet = Set(kept)
    for member in group.members {
      if member.convGroups > 1 {
        grouped.append((member, keptSet))
        continue
      }
      var cut = removed[member.parameter, default: [:]][member.axis, default: []]
      for unit in 0..<group.size where !keptSet.contains(unit) {
        let start = member.offset + unit * member.width
        cut.formUnion(start..<start + member.width)
      }
      removed[member.parameter, default: [:]][member.axis] = cut
    }
    for name in group.depthwiseNodes { setAttribute(name, "group", .int(kept.count), in: &graph) }
    for name in group.numHeadsNodes { setAttribute(name, "num_heads", .int(kept.count), in: &graph) }
    for use in group.shapeConstants { try rewriteShapeConstant(use, units: kept.count, in: &graph) }
  }
  for (parameter, axes) in removed {
    for (axis, cut) in axes.sorted(by: { $0.key < $1.key }) {
      try transform(parameter, in: &graph) { tensor in
        guard axis < tensor.rank else {
          throw PruningError.unsupportedParameter(
            name: parameter, expected: "rank > \(axis)", found: "\(tensor.shape)")
        }
        return gather(tensor, axis: axis, indices: (0..<tensor.shape[axis]).filter { !cut.contains($0) })
      }
    }
  }
  for (member, kept) in grouped {
    try transform(member.parameter, in: &graph) { try cutGroupedInputs($0, member: member, kept: kept) }
  }
}

/// Applies `change` to a constant and to its mask, if any.
private func transform(_ name: String, in graph: inout Graph, _ change: (Tensor) throws -> Tensor) throws {
  guard let tensor = constantTensor(name, in: graph) else { throw PruningError.missingParameter(name: name) }
  guard tensor.dtype == .float32 else {
    throw PruningError.unsupportedParameter(name: name, expected: "float32", found: tensor.dtype.rawValue)
  }
  setConstant(name, try change(tensor), in: &graph)
  if let mask = graph.masks[name] { graph.masks[name] = try change(mask) }
}

/// Grouped conv weight [out, in/g, k…]: row o (conv group o / (out/g)) keeps the columns of the kept
/// input channels of its own group. Every group must keep the same number.
private func cutGroupedInputs(_ w: Tensor, member: GroupMember, kept: Set<Int>) throws -> Tensor {
  let g = member.convGroups
  let (rows, perGroup) = (w.shape[0], w.shape[1])
  let columns = (0..<g).map { k in (0..<perGroup).filter { kept.contains(k * perGroup + $0) } }
  guard Set(columns.map(\.count)).count == 1, let newPerGroup = columns.first?.count else {
    throw PruningError.unsupportedParameter(
      name: member.parameter, expected: "the same kept input count in each of \(g) conv groups",
      found: "\(columns.map(\.count))")
  }
  let inner = w.count / (rows * perGroup)
  let values = w.floats
  var out: [Float] = []
  out.reserveCapacity(rows * newPerGroup * inner)
  for o in 0..<rows {
    for j in columns[o / (rows / g)] {
      let base = (o * perGroup + j) * inner
      out.append(contentsOf: values[base..<base + inner])
    }
  }
  var shape = w.shape
  shape[1] = newPerGroup
  return Tensor(shape: shape, floats: out)
}

/// The elements of `tensor` at `indices` along `axis` (Float32).
func gather(_ tensor: Tensor, axis: Int, indices: [Int]) -> Tensor {
  let shape = tensor.shape
  let inner = Tensor.strides(of: shape)[axis]
  let outer = tensor.count / (shape[axis] * inner)
  let values = tensor.floats
  var out: [Float] = []
  out.reserveCapacity(outer * indices.count * inner)
  for o in 0..<outer {
    for i in indices {
      let base = (o * shape[axis] + i) * inner
      out.append(contentsOf: values[base..<base + inner])
    }
  }
  var newShape = shape
  newShape[axis] = indices.count
  return Tensor(shape: newShape, floats: out)
}

private func setAttribute(_ node: String, _ key: String, _ value: Attribute, in graph: inout Graph) {
  if let index = graph.nodes.firstIndex(where: { $0.name == node }) {
    graph.nodes[index].attributes[key] = value
  }
}

/// Sets element `use.index` of an int64 shape constant to units × perUnit.
private func rewriteShapeConstant(_ use: ShapeConstantUse, units: Int, in graph: inout Graph) throws {
  guard let t = constantTensor(use.value, in: graph), t.dtype == .int64, use.index < t.count else {
    throw PruningError.missingParameter(name: use.value)
  }
  var values = t.int64s
  values[use.index] = Int64(units * use.perUnit)
  setConstant(use.value, Tensor(shape: t.shape, int64s: values), in: &graph)
}
