import ModelGraph
import TensorCore

/// Finds multi-head attention blocks and the head groups that cut them (Michel et al. 2019,
/// "Are Sixteen Heads Really Better than One?").
///
/// The pattern is the one PyTorch and the BERT loaders emit:
///
///     q = split(x·Wq + bq)  [B, H, S, d]     (Reshape [B, S, H, d] + Transpose)
///     k, v likewise;  p = Softmax(q·kᵀ · scale + mask);  c = merge(p·v)  [B, S, H·d]
///     y = c·Wo + bo
///
/// Removing head h removes columns h·d..<(h+1)·d of Wq, Wk, Wv (and their biases) and the same rows
/// of Wo; the head count and hidden size in the Reshape targets (and any `num_heads` attribute) follow.
/// A Softmax whose probabilities feed a MatMul but do not match the pattern is an error naming the node.
public enum AttentionHeads {
  public static func groups(in graph: Graph, firstID: Int = 0) throws -> [PruningGroup] {
    var result: [PruningGroup] = []
    for node in graph.nodes where node.opType == "Softmax" {
      let readers = graph.consumers(of: node.outputs[0])
      guard let context = readers.first(where: { $0.opType == "MatMul" && $0.inputs[0] == node.outputs[0] })
      else { continue }
      var tracer = AttentionTracer(graph: graph)
      var group = try tracer.trace(softmax: node, context: context)
      group.id = firstID + result.count
      result.append(group)
    }
    return result
  }
}

/// A linear projection: weight, its output/input axes, bias.
struct Projection {
  var node: Node
  var weight: String
  var outAxis: Int
  var inAxis: Int
  var outSize: Int
  var inSize: Int
  var bias: String?
}

struct AttentionTracer {
  let graph: Graph
  /// Reshape nodes met while tracing (split heads on q/k/v, merge on the output).
  var splits: [Node] = []

  func fail(_ node: Node, _ reason: String) -> PruningError {
    .unsupportedCoupling(node: node.name, opType: node.opType, reason: "attention: \(reason)")
  }

  func producer(_ value: String, at node: Node) throws -> Node {
    guard let p = graph.producer(of: value) else { throw fail(node, "'\(value)' is not computed by a node") }
    return p
  }

  /// Walks back from a head-split value to the projection that made it, through Transpose/Reshape
  /// and a constant bias Add.
  mutating func projection(from value: String, at node: Node) throws -> Projection {
    var current = try producer(value, at: node)
    while ["Transpose", "Reshape", "Identity", "Dropout"].contains(current.opType) {
      if current.opType == "Reshape" { splits.append(current) }
      current = try producer(current.inputs[0], at: current)
    }
    var bias: String?
    if current.opType == "Add" {
      let constant = current.inputs.first { constantTensor($0, in: graph) != nil }
      let other = current.inputs.first { constantTensor($0, in: graph) == nil }
      guard let constant, let other else { throw fail(current, "bias Add without exactly one constant") }
      bias = constant
      current = try producer(other, at: current)
    }
    return try linear(current, bias: bias)
  }

  func linear(_ node: Node, bias: String?) throws -> Projection {
    guard node.inputs.count > 1, let w = constantTensor(node.inputs[1], in: graph), w.rank == 2 else {
      throw fail(node, "expected a MatMul/Gemm with a constant weight (fused QKV is not supported)")
    }
    switch node.opType {
    case "MatMul":
      return Projection(
        node: node, weight: node.inputs[1], outAxis: 1, inAxis: 0, outSize: w.shape[1], inSize: w.shape[0],
        bias: bias)
    case "Gemm":
      let t = node.int("transB", default: 0) != 0
      let gemmBias = node.inputs.count > 2 && !node.inputs[2].isEmpty ? node.inputs[2] : nil
      return Projection(
        node: node, weight: node.inputs[1], outAxis: t ? 0 : 1, inAxis: t ? 1 : 0,
        outSize: w.shape[t ? 0 : 1],
        inSize: w.shape[t ? 1 : 0], bias: bias ?? gemmBias)
    default:
      throw fail(node, "expected a MatMul/Gemm projection, found \(node.opType)")
    }
  }

  mutating func trace(softmax: Node, context: Node) throws -> PruningGroup {
    // Scores: Softmax ← (Add mask | Mul/Div scale | Where …)* ← MatMul(q, kᵀ)
    guard let scores = scoresMatMul(softmax.inputs[0], depth: 6) else {
      throw fail(softmax, "cannot find the q·kᵀ MatMul behind the scores")
    }
    let current = scores
    let q = try projection(from: current.inputs[0], at: current)
    let k = try projection(from: current.inputs[1], at: current)
    let v = try projection(from: context.inputs[1], at: context)
    let splitCount = splits.count
    // Output: p·v → Transpose → Reshape (merge heads) → projection.
    var out = context
    while true {
      guard let next = graph.consumers(of: out.outputs[0]).first,
        graph.consumers(of: out.outputs[0]).count == 1
      else {
        throw fail(out, "the attention context has no single reader")
      }
      if ["Transpose", "Reshape", "Identity", "Dropout"].contains(next.opType) {
        if next.opType == "Reshape" { splits.append(next) }
        out = next
        continue
      }
      guard next.inputs[0] == out.outputs[0] else { throw fail(next, "context is not the left operand") }
      out = next
      break
    }
    let o = try linear(out, bias: nil)
    let hidden = q.outSize
    guard k.outSize == hidden, v.outSize == hidden, o.inSize == hidden else {
      throw fail(context, "q/k/v/output sizes differ: \(q.outSize), \(k.outSize), \(v.outSize), \(o.inSize)")
    }
    let headDim = try self.headDim(hidden: hidden, splits: Array(splits.prefix(splitCount)), at: context)
    var group = PruningGroup(id: 0, kind: .heads(headDim: headDim), size: hidden / headDim)
    for p in [q, k, v] {
      group.members.append(
        GroupMember(parameter: p.weight, axis: p.outAxis, width: headDim, role: .output, node: p.node.name))
      if let b = p.bias, let t = constantTensor(b, in: graph) {
        group.members.append(
          GroupMember(parameter: b, axis: t.rank - 1, width: headDim, role: .vector, node: p.node.name))
      }
    }
    group.members.append(
      GroupMember(parameter: o.weight, axis: o.inAxis, width: headDim, role: .input, node: o.node.name))
    for split in splits.prefix(splitCount) {
      let entries = shapeEntries(split.inputs[1])
      if entries.count >= 2, let (value, index) = entries[entries.count - 2].location,
        entries[entries.count - 2].value == group.size
      {
        group.shapeConstants.append(ShapeConstantUse(value: value, index: index, perUnit: 1))
      }
    }
    for merge in splits.dropFirst(splitCount) {
      if let last = shapeEntries(merge.inputs[1]).last, last.value == hidden,
        let (value, index) = last.location
      {
        group.shapeConstants.append(ShapeConstantUse(value: value, index: index, perUnit: headDim))
      }
    }
    return group
  }

  /// Depth-first search back from the scores for a MatMul of two computed values.
  func scoresMatMul(_ value: String, depth: Int) -> Node? {
    guard depth > 0, let node = graph.producer(of: value) else { return nil }
    if node.opType == "MatMul" {
      return node.inputs.allSatisfy({ constantTensor($0, in: graph) == nil }) ? node : nil
    }
    guard ["Add", "Mul", "Div", "Sub", "Where", "Cast", "Identity"].contains(node.opType) else { return nil }
    for input in node.inputs where constantTensor(input, in: graph) == nil {
      if let found = scoresMatMul(input, depth: depth - 1) { return found }
    }
    return nil
  }

  /// head_dim from a split Reshape target ending in [H, d] — [B, S, H, d] as one constant, or a
  /// Concat of a run-time [B, S] and a constant [H, d] (the BERT loader's form): d when known, else
  /// hidden / H.
  func headDim(hidden: Int, splits: [Node], at node: Node) throws -> Int {
    for split in splits {
      let entries = shapeEntries(split.inputs[1])
      guard entries.count >= 2 else { continue }
      if let d = entries[entries.count - 1].value, d > 0, hidden % d == 0 { return d }
      if let h = entries[entries.count - 2].value, h > 0, hidden % h == 0 { return hidden / h }
    }
    throw fail(node, "cannot read the head size from the Reshape targets")
  }

  /// Entries of a Reshape target: from a constant, or a Concat of constants and run-time pieces.
  func shapeEntries(_ value: String) -> [(value: Int?, location: (String, Int)?)] {
    if let t = constantTensor(value, in: graph), t.dtype == .int64 {
      return t.int64s.enumerated().map { (Int($1), (value, $0)) }
    }
    guard let concat = graph.producer(of: value), concat.opType == "Concat" else { return [] }
    var entries: [(value: Int?, location: (String, Int)?)] = []
    for input in concat.inputs {
      if let t = constantTensor(input, in: graph), t.dtype == .int64 {
        entries += t.int64s.enumerated().map { (Int($1), (input, $0)) }
      } else {
        entries.append((nil, nil))
      }
    }
    return entries
  }
}
