import ModelGraph
import TensorCore

/// Rewrites the quantized-linear subgraphs of standard ONNX models into one `Int8MatMul` each (run by
/// `Int8Linear` on the int8 GEMM); every intermediate must have the chain as its only reader.
///
/// | written by | subgraph | becomes |
/// |---|---|---|
/// | onnxruntime `quantize_dynamic` | DynamicQuantizeLinear(X) → MatMulInteger(xq, Wq, xz[, 0]) → Cast(float) → Mul(·, Mul(xs, sw)) | Int8MatMul(xq, Wq, sw; xs, xz), quantization "tensor" |
/// | PruneKit `quantize` (dynamic) | s = Max(ReduceMax(Abs X, −1) / 127, floor); Cast(Clip(Round(X / s), ±127), int8) → MatMulInteger(·, Wq) → Cast(float) → Mul(·, s) → Mul(·, sw) | Int8MatMul(X, Wq, sw), quantization "row" |
/// | PruneKit `quantize --calib` | the same with s a scalar initializer | Int8MatMul(X, Wq, sw; s), quantization "static" |
///
/// The DynamicQuantizeLinear stays (Q, K and V share it); `Fusion.fuseMatMulBias` then folds the
/// bias, activation and residual into the Int8MatMul as it does for MatMul, and
/// `shareRowQuantization` makes Int8MatMuls that quantize the same activation per row (a
/// transformer's Q, K and V) read one `QuantizeRows` instead of quantizing it once each.
enum Int8Fusion {
  static func fuse(_ graph: Graph) -> [Node] {
    let readers = Fusion.Readers(graph)
    var producer: [String: Int] = [:]
    for (i, node) in graph.nodes.enumerated() { for o in node.outputs where !o.isEmpty { producer[o] = i } }
    var nodes = graph.nodes
    var removed = Set<Int>()
    for (i, mi) in graph.nodes.enumerated() where mi.opType == "MatMulInteger" && mi.domain.isEmpty {
      guard let match = match(mi, at: i, graph, readers, producer) else { continue }
      removed.formUnion(match.absorbed)
      removed.remove(match.last)
      nodes[match.last] = match.node
    }
    return nodes.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
  }

  struct Match {
    var node: Node
    var absorbed: Set<Int>
    var last: Int
  }

  static func node(_ graph: Graph, _ index: Int?, _ opType: String) -> Node? {
    guard let index, graph.nodes[index].opType == opType, graph.nodes[index].domain.isEmpty else {
      return nil
    }
    return graph.nodes[index]
  }

  static func initializer(_ graph: Graph, _ name: String, equals value: Float) -> Bool {
    guard let t = graph.initializers[name], t.count == 1, t.dtype.isFloatingPoint else { return false }
    return t.asFloats()[0] == value
  }

  static func match(
    _ mi: Node, at i: Int, _ graph: Graph, _ readers: Fusion.Readers, _ producer: [String: Int]
  )
    -> Match?
  {
    guard mi.inputs.count >= 2, let w = graph.initializers[mi.inputs[1]], w.dtype == .int8, w.rank == 2 else {
      return nil
    }
    if mi.inputs.count > 3, !mi.inputs[3].isEmpty {
      guard let zb = graph.initializers[mi.inputs[3]], zb.asInt64s().allSatisfy({ $0 == 0 }) else {
        return nil
      }
    }
    let n = w.shape[1]
    // Output side: Cast(to float) → Mul(·, s1).
    guard let ci = readers.only(mi.outputs[0]), let castF = node(graph, ci, "Cast"),
      castF.intAttribute("to", 0) == 1, let m1 = readers.only(castF.outputs[0]),
      let mul1 = node(graph, m1, "Mul"),
      let s1 = Fusion.other(mul1, than: castF.outputs[0])
    else { return nil }
    func weightScale(_ name: String) -> Bool {
      guard let t = graph.initializers[name], t.dtype == .float32 else { return false }
      return t.count == 1 || t.count == n
    }
    // onnxruntime: xq, xs, xz from one DynamicQuantizeLinear; s1 = Mul(xs, sw).
    if let dq = node(graph, producer[mi.inputs[0]], "DynamicQuantizeLinear"), dq.outputs.count == 3,
      dq.outputs[0] == mi.inputs[0], mi.inputs.count > 2, mi.inputs[2] == dq.outputs[2],
      let smi = producer[s1], let sm = node(graph, smi, "Mul"), readers.only(s1) == m1,
      let sw = Fusion.other(sm, than: dq.outputs[1]), weightScale(sw)
    {
      let fused = Node(
        name: mi.name + "/int8", opType: Int8Linear.opType, domain: Fusion.domain,
        inputs: [mi.inputs[0], mi.inputs[1], sw, "", "", dq.outputs[1], dq.outputs[2]], outputs: mul1.outputs,
        attributes: ["quantization": .string("tensor")])
      return Match(node: fused, absorbed: [i, ci, smi, m1], last: m1)
    }
    // PruneKit: X → Div(X, s) → Round → Clip(−127, 127) → Cast(int8) = xq; Mul(·, s) → Mul(·, sw).
    guard mi.inputs.count == 2 || mi.inputs[2].isEmpty,
      let ki = producer[mi.inputs[0]], let castQ = node(graph, ki, "Cast"), castQ.intAttribute("to", 0) == 3,
      readers.only(mi.inputs[0]) == i,
      let cli = producer[castQ.inputs[0]], let clip = node(graph, cli, "Clip"),
      readers.only(clip.outputs[0]) == ki,
      clip.inputs.count == 3, initializer(graph, clip.inputs[1], equals: -127),
      initializer(graph, clip.inputs[2], equals: 127),
      let ri = producer[clip.inputs[0]], let round = node(graph, ri, "Round"),
      readers.only(round.outputs[0]) == cli,
      let di = producer[round.inputs[0]], let div = node(graph, di, "Div"),
      readers.only(div.outputs[0]) == ri,
      div.inputs.count == 2, div.inputs[1] == s1,
      let m2 = readers.only(mul1.outputs[0]), let mul2 = node(graph, m2, "Mul"),
      let sw = Fusion.other(mul2, than: mul1.outputs[0]), weightScale(sw)
    else { return nil }
    let x = div.inputs[0]
    let chain: Set<Int> = [ki, cli, ri, di, i, ci, m1, m2]
    if let s = graph.initializers[s1] {
      guard s.count == 1, s.dtype == .float32 else { return nil }
      let fused = Node(
        name: mi.name + "/int8", opType: Int8Linear.opType, domain: Fusion.domain,
        inputs: [x, mi.inputs[1], sw, "", "", s1], outputs: mul2.outputs,
        attributes: ["quantization": .string("static")])
      return Match(node: fused, absorbed: chain, last: m2)
    }
    // s = Max(Div(ReduceMax(Abs(X), axes −1, keepdims 1), 127), floor), read only by the chain.
    guard let sReaders = readers.readers[s1], Set(sReaders) == [di, m1], !readers.outputs.contains(s1),
      let mxi = producer[s1], let mx = node(graph, mxi, "Max"), mx.inputs.count == 2,
      let qi = producer[mx.inputs[0]], let d127 = node(graph, qi, "Div"),
      readers.only(d127.outputs[0]) == mxi,
      graph.initializers[mx.inputs[1]] != nil, initializer(graph, d127.inputs[1], equals: 127),
      let rmi = producer[d127.inputs[0]], let rm = node(graph, rmi, "ReduceMax"),
      readers.only(rm.outputs[0]) == qi,
      rm.intAttribute("keepdims", 1) == 1, reducesLastAxis(rm, graph),
      let abi = producer[rm.inputs[0]], let ab = node(graph, abi, "Abs"), readers.only(ab.outputs[0]) == rmi,
      ab.inputs[0] == x
    else { return nil }
    let fused = Node(
      name: mi.name + "/int8", opType: Int8Linear.opType, domain: Fusion.domain,
      inputs: [x, mi.inputs[1], sw], outputs: mul2.outputs, attributes: ["quantization": .string("row")])
    return Match(node: fused, absorbed: chain.union([mxi, qi, rmi, abi]), last: m2)
  }

  /// ReduceMax over exactly the last axis (attribute `axes` or, from opset 18, the second input).
  static func reducesLastAxis(_ rm: Node, _ graph: Graph) -> Bool {
    if case .ints(let axes)? = rm.attributes["axes"] { return axes == [-1] }
    if rm.inputs.count > 1, let t = graph.initializers[rm.inputs[1]] { return t.asInt64s() == [-1] }
    return false
  }

  /// Int8MatMuls in mode `row` reading the same X (and of the same K) → one QuantizeRows(X) → (q, s),
  /// placed before the first of them, and each Int8MatMul(q, Wq, sw, bias, residual, s) in mode
  /// `quantized_rows` (attribute `source` = X, whose shape the kernel choice reads). The bytes and
  /// scales are those each node computed for itself, so outputs are unchanged.
  static func shareRowQuantization(_ graph: Graph) -> [Node] {
    var groups: [String: [Int]] = [:]
    for (i, node) in graph.nodes.enumerated()
    where Int8Linear.isInt8MatMul(node) && node.attributes["quantization"] == .string("row") {
      guard let w = graph.initializers[node.inputs[1]], w.rank == 2 else { continue }
      groups["\(node.inputs[0])|\(w.shape[0])", default: []].append(i)
    }
    var nodes = graph.nodes
    var inserted: [Int: Node] = [:]
    for members in groups.values where members.count > 1 {
      let x = graph.nodes[members[0]].inputs[0]
      let (q, scales) = (x + "/int8_rows", x + "/int8_row_scales")
      inserted[members.min()!] = Node(
        name: x + "/quantize_rows", opType: Int8Linear.quantizeRowsOpType, domain: Fusion.domain, inputs: [x],
        outputs: [q, scales])
      for i in members {
        var node = nodes[i]
        node.inputs += [String](repeating: "", count: max(0, 6 - node.inputs.count))
        (node.inputs[0], node.inputs[5]) = (q, scales)
        node.attributes["quantization"] = .string("quantized_rows")
        node.attributes["source"] = .string(x)
        nodes[i] = node
      }
    }
    return nodes.enumerated().flatMap { i, node in inserted[i].map { [$0, node] } ?? [node] }
  }
}
