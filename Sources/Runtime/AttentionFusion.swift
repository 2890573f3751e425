import ModelGraph
import TensorCore

/// Scaled dot-product attention as exported by PyTorch for BERT-family models, fused into one
/// `ai.prunekit.Attention` node that runs each (batch, head) in one pass over a cache-resident
/// [S, S] tile, reading Q, K, V in their [B, S, H·D] layout (no transposes):
///
///     Q, K, V: Reshape(·, [B, S, H, D]);  q = Transpose(Q, 0 2 1 3);  k = Transpose(K, 0 2 3 1)
///     v = Transpose(V, 0 2 1 3);  p = Softmax(MatMul(q, k) · scale + mask, axis −1)
///     out = Reshape(Transpose(MatMul(p, v), 0 2 1 3), shape)
///
/// Inputs of the fused node: q, k, v, the three [B, S, H, D] shapes, the output shape, the mask
/// ("" when absent); attribute `scale`. (Vaswani et al. 2017, eq. 1.)
extension Fusion {
  static func fuseAttention(_ graph: Graph) -> [Node] {
    let readers = Readers(graph)
    let producer = Dictionary(
      graph.nodes.enumerated().flatMap { i, n in n.outputs.map { ($0, i) } }, uniquingKeysWith: { a, _ in a })
    var nodes = graph.nodes
    var removed = Set<Int>()
    func perm(_ i: Int) -> [Int]? {
      if case .ints(let p)? = graph.nodes[i].attributes["perm"] { return p }
      return nil
    }
    /// Transpose(Reshape(x, shape), perm) feeding only `reader`: returns (x, shape, [reshape, transpose]).
    func source(_ value: String, perm expected: [Int]) -> (String, String, [Int])? {
      guard let t = producer[value], graph.nodes[t].opType == "Transpose", perm(t) == expected,
        readers.only(value) != nil, let r = producer[graph.nodes[t].inputs[0]],
        graph.nodes[r].opType == "Reshape", readers.only(graph.nodes[r].outputs[0]) == t,
        graph.nodes[r].inputs.count == 2
      else { return nil }
      return (graph.nodes[r].inputs[0], graph.nodes[r].inputs[1], [r, t])
    }
    for (i, qk) in graph.nodes.enumerated() where qk.opType == "MatMul" && qk.domain.isEmpty {
      guard let (q, qShape, qNodes) = source(qk.inputs[0], perm: [0, 2, 1, 3]),
        let (k, kShape, kNodes) = source(qk.inputs[1], perm: [0, 2, 3, 1])
      else { continue }
      var chain: [Int] = []
      var value = qk.outputs[0]
      var scale: Float = 1
      var mask = ""
      // Optional scale (Mul or Div by a scalar), then optional additive mask, then Softmax.
      if let n = readers.only(value), ["Mul", "Div"].contains(graph.nodes[n].opType),
        let c = other(graph.nodes[n], than: value).flatMap({ scalar(graph, $0) }),
        graph.nodes[n].opType == "Mul" || graph.nodes[n].inputs[0] == value
      {
        scale = graph.nodes[n].opType == "Mul" ? c : 1 / c
        chain.append(n)
        value = graph.nodes[n].outputs[0]
      }
      if let n = readers.only(value), graph.nodes[n].opType == "Add",
        let m = other(graph.nodes[n], than: value)
      {
        mask = m
        chain.append(n)
        value = graph.nodes[n].outputs[0]
      }
      guard graph.opsetVersion >= 13, let s = readers.only(value), graph.nodes[s].opType == "Softmax",
        [-1, 3].contains(
          graph.nodes[s].attributes["axis"].flatMap {
            if case .int(let a) = $0 { return a } else { return nil }
          } ?? -1),
        let pv = readers.only(graph.nodes[s].outputs[0]), graph.nodes[pv].opType == "MatMul",
        graph.nodes[pv].inputs[0] == graph.nodes[s].outputs[0],
        let (v, vShape, vNodes) = source(graph.nodes[pv].inputs[1], perm: [0, 2, 1, 3]),
        let t = readers.only(graph.nodes[pv].outputs[0]), graph.nodes[t].opType == "Transpose",
        perm(t) == [0, 2, 1, 3], let r = readers.only(graph.nodes[t].outputs[0]),
        graph.nodes[r].opType == "Reshape", graph.nodes[r].inputs.count == 2
      else { continue }
      chain += [s, pv, t, r]
      // The fused node runs where the last of its inputs is ready: at the final Reshape.
      nodes[r] = Node(
        name: qk.name + "/fused_attention", opType: "Attention", domain: domain,
        inputs: [q, k, v, qShape, kShape, vShape, graph.nodes[r].inputs[1], mask],
        outputs: graph.nodes[r].outputs, attributes: ["scale": .float(scale)])
      removed.formUnion(qNodes + kNodes + vNodes + [i] + chain.dropLast())
    }
    return nodes.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
  }
}

/// Kernel of `ai.prunekit.Attention`.
enum AttentionOp {
  static func register(into table: inout [OpKey: OpDefinition]) {
    table[OpKey("Attention", domain: Fusion.domain)] = OpDefinition { ctx in [try attention(&ctx)] }
  }

  /// out[b, i, h·D + d] = Σ_j softmax_j(scale · q_i·k_j + mask[b, h, i, j]) · v[b, j, h·D + d].
  static func attention(_ ctx: inout OpContext) throws -> Tensor {
    let (q, k, v) = try (ctx.floatInput(0), ctx.floatInput(1), ctx.floatInput(2))
    // Resolve the [B, S, H, D] reshapes exactly as Reshape would, and require one head layout.
    var shapes: [[Int]] = []
    for (x, s) in [(q, 3), (k, 4), (v, 5)] {
      var sub = OpContext(node: ctx.node, opset: ctx.opset, inputs: [x, try ctx.input(s)])
      shapes.append(try ShapeOps.reshape(&sub).shape)
    }
    guard shapes.allSatisfy({ $0.count == 4 }), shapes[1] == shapes[2], shapes[0][0] == shapes[1][0],
      shapes[0][2] == shapes[1][2], shapes[0][3] == shapes[1][3]
    else { throw ctx.shapeError(expected: "Q, K, V reshaped to [B, S, H, D] alike", found: "\(shapes)") }
    let (batch, sq, heads, dim) = (shapes[0][0], shapes[0][1], shapes[0][2], shapes[0][3])
    let sk = shapes[1][1]
    let width = heads * dim
    let scale = try ctx.float("scale", default: 1)
    var maskValues: [Float] = []
    var maskStrides = [0, 0, 0, 0]
    if let m = ctx.optionalInput(7) {
      guard let b = Indexing.broadcast(m.shape, [batch, heads, sq, sk]), b == [batch, heads, sq, sk] else {
        throw ctx.shapeError(expected: "mask broadcastable to \([batch, heads, sq, sk])", found: "\(m.shape)")
      }
      maskValues = m.asFloats()
      maskStrides = Indexing.broadcastStrides(m.shape, to: [batch, heads, sq, sk])
    }
    var out = [Float](repeating: 0, count: batch * sq * width)
    let (qv, kv, vv) = (q.floats, k.floats, v.floats)
    withPointers(qv, kv, vv, maskValues, &out) { Q, K, V, M, O in
      ThreadPool.shared.parallelFor(batch * heads) { task in
        let (b, h) = (task / heads, task % heads)
        var tile = [Float](repeating: 0, count: sq * sk)
        tile.withUnsafeMutableBufferPointer { p in
          let t = p.baseAddress!
          // scores[i, j] = scale · Σ_d Q[b, i, h·D + d] · K[b, j, h·D + d]
          gemm(
            transA: false, transB: true, m: sq, n: sk, k: dim, alpha: scale,
            a: Q.base + b * sq * width + h * dim,
            lda: width, b: K.base + b * sk * width + h * dim, ldb: width, beta: 0, c: t, ldc: sk, threads: 1)
          for i in 0..<sq {
            let row = t + i * sk
            let base = b * maskStrides[0] + h * maskStrides[1] + i * maskStrides[2]
            if !maskValues.isEmpty && maskStrides[3] == 1 {  // a contiguous mask row: added in the softmax
              softmaxInPlace(row, count: sk, adding: M.base + base)
              continue
            }
            if !maskValues.isEmpty {
              for j in 0..<sk { row[j] += M.base[base + j * maskStrides[3]] }
            }
            softmaxInPlace(row, count: sk)
          }
          gemm(
            transA: false, transB: false, m: sq, n: dim, k: sk, alpha: 1, a: t, lda: sk,
            b: V.base + b * sk * width + h * dim, ldb: width, beta: 0, c: O.base + b * sq * width + h * dim,
            ldc: width, threads: 1)
        }
      }
    }
    var result = OpContext(
      node: ctx.node, opset: ctx.opset,
      inputs: [Tensor(shape: [batch, sq, width], floats: out), try ctx.input(6)])
    return try ShapeOps.reshape(&result)
  }

  private static func withPointers(
    _ q: [Float], _ k: [Float], _ v: [Float], _ m: [Float], _ out: inout [Float],
    _ body: (
      SendableConstPointer<Float>, SendableConstPointer<Float>, SendableConstPointer<Float>,
      SendableConstPointer<Float>, SendablePointer<Float>
    ) throws -> Void
  ) rethrows {
    let mask = m.isEmpty ? [Float](repeating: 0, count: 1) : m
    try q.withUnsafeBufferPointer { pq in
      try k.withUnsafeBufferPointer { pk in
        try v.withUnsafeBufferPointer { pv in
          try mask.withUnsafeBufferPointer { pm in
            try out.withUnsafeMutableBufferPointer { po in
              try body(
                SendableConstPointer(pq.baseAddress!), SendableConstPointer(pk.baseAddress!),
                SendableConstPointer(pv.baseAddress!), SendableConstPointer(pm.baseAddress!),
                SendablePointer(po.baseAddress!))
            }
          }
        }
      }
    }
  }
}
