import ModelGraph
import Runtime
import TensorCore

/// Rewrites flatten-like Reshapes whose target states the flattened size, `[-1, K]` or `[N, K]`
/// (PyTorch's dynamo exporter writes `torch.flatten(x, 1)` so), to `[0, -1]`: the same result for
/// every input the graph accepts, but one that stays right when structured pruning shrinks K.
///
/// A Reshape is rewritten only when shape inference shows its input is [n, d1, …] with d1·… = K and
/// every d fixed (so K never depends on the batch), `allowzero` is 0, and the target is a constant;
/// each rewritten node gets its own target constant `<output>__flatten_shape`. Graphs whose shapes
/// cannot be inferred are left as they are (their Reshapes then block the coupling analysis).
public func relaxFlattenReshapes(in graph: inout Graph) {
  let candidates = graph.nodes.indices.filter { index in
    let node = graph.nodes[index]
    guard node.opType == "Reshape", node.inputs.count == 2, node.int("allowzero", default: 0) == 0,
      let t = constantTensor(node.inputs[1], in: graph), t.dtype == .int64, t.count == 2
    else { return false }
    return t.int64s[1] > 0
  }
  guard !candidates.isEmpty,
    let shapes = try? graph.inferShapes(inputShapes: graph.inputShapes())
  else { return }
  for index in candidates {
    let node = graph.nodes[index]
    guard let input = shapes[node.inputs[0]], input.dims.count >= 2,
      let target = constantTensor(node.inputs[1], in: graph)?.int64s
    else { continue }
    let rest = input.dims.dropFirst()
    guard rest.allSatisfy({ $0.value != nil }) else { continue }
    let flattened = rest.reduce(1) { $0 * ($1.value ?? 0) }
    let batchMatches = target[0] == -1 || (input.dims[0].value.map { Int64($0) == target[0] } ?? false)
    guard Int64(flattened) == target[1], batchMatches else { continue }
    let name = "\(node.outputs[0])__flatten_shape"
    guard graph.initializers[name] == nil else { continue }
    graph.setInitializer(name, Tensor(shape: [2], int64s: [0, -1]))
    graph.nodes[index].inputs[1] = name
  }
}

/// Everything structured surgery needs from a graph as exported: per-layer constants
/// (`untieSharedConstants`) and batch-independent flatten targets (`relaxFlattenReshapes`).
/// The graph computes the same function afterwards. Returns the untied copies (copy → source) for
/// `retieUnchangedConstants` after the cut.
@discardableResult
public func prepareForStructuredPruning(_ graph: inout Graph) -> [String: String] {
  let copies = untieSharedConstants(in: &graph)
  relaxFlattenReshapes(in: &graph)
  return copies
}
