import ModelGraph
import TensorCore

/// Graph rewrites the executor applies before running (the caller's graph is not changed). Each
/// replaces a chain whose intermediates have a single reader and are not graph outputs, so every
/// graph output and every surviving value is computed exactly as before (up to rounding):
///
/// | pattern | becomes |
/// |---|---|
/// | Div(x, √2) → Erf → Add(·, 1) → Mul(x, ·) → Mul(·, 0.5) | Gelu(x) (PyTorch's exported erf GELU) |
/// | MatMul(X, W) → Add(·, b), W 2-D and b 1-D [N] initializers | FusedMatMul(X, W, b): bias in the GEMM |
/// | Gemm(X, W, c), transA = 0, α = β = 1, W 2-D, c absent or [N] initializers | MatMul(X, Wᵀ or W) → Add(·, c), then as above |
/// | FusedMatMul → Gelu / Relu | FusedMatMul with activation = "gelu" / "relu" |
/// | FusedMatMul → Add(·, r), r computed (not an initializer) | FusedMatMul(X, W, b, r): residual in the GEMM |
/// | quantized linear subgraphs (MatMulInteger …) | Int8MatMul, then bias / activation / residual as above (Int8Fusion.swift) |
/// | Int8MatMuls quantizing the same activation per row (Q, K, V) | one QuantizeRows they share (Int8Fusion.swift) |
/// | Q/K/V reshape-transpose → MatMul → scale → +mask → Softmax → MatMul → transpose-reshape | Attention (AttentionFusion.swift) |
///
/// Fused nodes live in the `ai.prunekit` domain; `Executor(graph:optimize: false)` skips all this
/// (e.g. to observe the MatMul output before its bias).
enum Fusion {
  static let domain = "ai.prunekit"

  static func fuse(_ graph: Graph) -> Graph {
    var g = graph
    g.nodes = fuseGelu(g)
    g = gemmAsMatMul(g)
    g.nodes = Int8Fusion.fuse(g)
    g.nodes = fuseMatMulBias(g)
    g.nodes = Int8Fusion.shareRowQuantization(g)
    g.nodes = fuseAttention(g)
    return g
  }

  /// Index of the only node reading `value`, when it is not a graph output.
  struct Readers {
    var readers: [String: [Int]] = [:]
    var outputs: Set<String>

    init(_ graph: Graph) {
      outputs = Set(graph.outputs.map(\.name))
      for (i, node) in graph.nodes.enumerated() {
        for name in Set(node.inputs) where !name.isEmpty { readers[name, default: []].append(i) }
      }
    }

    func only(_ value: String) -> Int? {
      guard !outputs.contains(value), let r = readers[value], r.count == 1 else { return nil }
      return r[0]
    }
  }

  static func scalar(_ graph: Graph, _ name: String) -> Float? {
    guard let t = graph.initializers[name], t.count == 1, t.dtype.isFloatingPoint else { return nil }
    return t.asFloats()[0]
  }

  /// The input of a two-input node other than `value`, or nil.
  static func other(_ node: Node, than value: String) -> String? {
    guard node.inputs.count == 2 else { return nil }
    if node.inputs[0] == value { return node.inputs[1] }
    if node.inputs[1] == value { return node.inputs[0] }
    return nil
  }

  static func fuseGelu(_ graph: Graph) -> [Node] {
    let readers = Readers(graph)
    var nodes = graph.nodes
    var removed = Set<Int>()
    for (i, div) in graph.nodes.enumerated() where div.opType == "Div" && div.domain.isEmpty {
      guard div.inputs.count == 2, let c = scalar(graph, div.inputs[1]),
        abs(c - Float(2).squareRoot()) < 1e-4,
        let e = readers.only(div.outputs[0]), graph.nodes[e].opType == "Erf",
        let a = readers.only(graph.nodes[e].outputs[0]), graph.nodes[a].opType == "Add",
        let one = other(graph.nodes[a], than: graph.nodes[e].outputs[0]), scalar(graph, one) == 1,
        let m = readers.only(graph.nodes[a].outputs[0]), graph.nodes[m].opType == "Mul",
        other(graph.nodes[m], than: graph.nodes[a].outputs[0]) == div.inputs[0],
        let h = readers.only(graph.nodes[m].outputs[0]), graph.nodes[h].opType == "Mul",
        let half = other(graph.nodes[h], than: graph.nodes[m].outputs[0]), scalar(graph, half) == 0.5
      else { continue }
      nodes[i] = Node(
        name: div.name + "/fused_gelu", opType: "Gelu", inputs: [div.inputs[0]],
        outputs: graph.nodes[h].outputs)
      removed.formUnion([e, a, m, h])
    }
    return nodes.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
  }

  static func fuseMatMulBias(_ graph: Graph) -> [Node] {
    let readers = Readers(graph)
    var nodes = graph.nodes
    var removed = Set<Int>()
    for (i, mm) in graph.nodes.enumerated()
    where (mm.opType == "MatMul" && mm.domain.isEmpty) || Int8Linear.isInt8MatMul(mm) {
      let int8 = Int8Linear.isInt8MatMul(mm)
      guard int8 ? mm.inputs.count < 4 || mm.inputs[3].isEmpty : mm.inputs.count == 2,
        let w = graph.initializers[mm.inputs[1]], w.rank == 2, w.dtype == (int8 ? .int8 : .float32),
        let a = readers.only(mm.outputs[0]), graph.nodes[a].opType == "Add",
        let biasName = other(graph.nodes[a], than: mm.outputs[0]), let b = graph.initializers[biasName],
        b.dtype == .float32, b.rank == 1, b.count == w.shape[1]
      else { continue }
      var outputs = graph.nodes[a].outputs
      var attributes: [String: Attribute] = [:]
      var inputs = [mm.inputs[0], mm.inputs[1], biasName]
      var last = a
      removed.formUnion([i, a])
      if let g = readers.only(outputs[0]), graph.nodes[g].opType == "Gelu", graph.nodes[g].domain.isEmpty,
        (graph.nodes[g].attributes["approximate"] ?? .string("none")) == .string("none")
      {
        outputs = graph.nodes[g].outputs
        attributes["activation"] = .string("gelu")
        last = g
        removed.insert(g)
      } else if let g = readers.only(outputs[0]), graph.nodes[g].opType == "Relu",
        graph.nodes[g].domain.isEmpty
      {
        outputs = graph.nodes[g].outputs
        attributes["activation"] = .string("relu")
        last = g
        removed.insert(g)
      }
      // A residual Add of a computed value (a transformer's skip connection): into the epilogue too.
      if let r = readers.only(outputs[0]), graph.nodes[r].opType == "Add", graph.nodes[r].domain.isEmpty,
        let residual = other(graph.nodes[r], than: outputs[0]), residual != outputs[0],
        graph.initializers[residual] == nil, !residual.isEmpty
      {
        outputs = graph.nodes[r].outputs
        inputs.append(residual)
        last = r
        removed.insert(r)
      }
      // The fused node runs where its last absorbed node ran: every input is ready there.
      removed.remove(last)
      if int8 {  // Int8MatMul(A, Wq, sw, bias, residual, sa, za): fill bias and residual in place
        var q = mm.inputs + [String](repeating: "", count: max(0, 5 - mm.inputs.count))
        q[3] = biasName
        q[4] = inputs.count > 3 ? inputs[3] : ""
        nodes[last] = Node(
          name: mm.name + "/fused_bias", opType: mm.opType, domain: domain, inputs: q, outputs: outputs,
          attributes: mm.attributes.merging(attributes) { $1 })
        continue
      }
      nodes[last] = Node(
        name: mm.name + "/fused_bias", opType: "FusedMatMul", domain: domain,
        inputs: inputs, outputs: outputs, attributes: attributes)
    }
    return nodes.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
  }

  /// Gemm(X, W, c) with transA = 0, alpha = beta = 1, W a 2-D Float32 initializer and c absent or an
  /// initializer of N elements → MatMul(X, W′) → Add(·, c′), so that `fuseMatMulBias` folds bias and
  /// activation into one FusedMatMul. W′ is W, or Wᵀ stored once when transB = 1 (the original is
  /// dropped when nothing else reads it); c′ is c as [N], or zeros.
  static func gemmAsMatMul(_ graph: Graph) -> Graph {
    var g = graph
    var readers: [String: Int] = [:]
    for node in graph.nodes { for name in Set(node.inputs) { readers[name, default: 0] += 1 } }
    var nodes: [Node] = []
    for node in graph.nodes {
      guard node.opType == "Gemm", node.domain.isEmpty, node.inputs.count >= 2,
        node.intAttribute("transA", 0) == 0,
        node.floatAttribute("alpha", 1) == 1, node.floatAttribute("beta", 1) == 1,
        let w = graph.initializers[node.inputs[1]], w.rank == 2,
        w.dtype == .float32, graph.inputs.allSatisfy({ $0.name != node.inputs[1] })
      else {
        nodes.append(node)
        continue
      }
      let transB = node.intAttribute("transB", 0) != 0
      let n = transB ? w.shape[0] : w.shape[1]
      var bias = Tensor(shape: [n], floats: [Float](repeating: 0, count: n))
      if node.inputs.count > 2, !node.inputs[2].isEmpty {
        guard let c = graph.initializers[node.inputs[2]], c.dtype == .float32, c.count == n,
          c.rank == 1 || (c.rank == 2 && c.shape[0] == 1)
        else {
          nodes.append(node)
          continue
        }
        bias = Tensor(shape: [n], floats: c.floats)
      }
      var weightName = node.inputs[1]
      if transB {
        let (rows, cols) = (w.shape[0], w.shape[1])
        let v = w.floats
        var t = [Float](repeating: 0, count: v.count)
        for r in 0..<rows { for c in 0..<cols { t[c * rows + r] = v[r * cols + c] } }
        weightName = node.inputs[1] + "/transposed"
        g.initializers[weightName] = Tensor(shape: [cols, rows], floats: t)
        if readers[node.inputs[1]] == 1 { g.initializers[node.inputs[1]] = nil }
      }
      let biasName = node.name + "/gemm_bias"
      g.initializers[biasName] = bias
      let product = node.outputs[0] + "/gemm_product"
      nodes.append(
        Node(
          name: node.name + "/matmul", opType: "MatMul", inputs: [node.inputs[0], weightName],
          outputs: [product]))
      nodes.append(
        Node(name: node.name + "/bias", opType: "Add", inputs: [product, biasName], outputs: node.outputs))
    }
    g.nodes = nodes
    return g
  }
}
