import ModelGraph
import TensorCore

/// Backward rules of the data-movement ops.
///
/// Reshape, Flatten, Squeeze, Unsqueeze, Identity only relabel the shape: dx = dy reshaped.
/// Expand broadcasts: dx = dy summed to x's shape. The ops that copy elements around (Transpose,
/// Concat, Split, Slice, Gather, GatherElements, Tile) are differentiated through their own forward
/// kernel: it is run once more on the element indices of its data inputs (Int64), which says which
/// input element each output element was copied from, and each output gradient is added there.
/// So these ops have exactly one implementation of their index arithmetic, the executor's.
enum MovementBackward {
  static func register(into table: inout [OpKey: BackwardRule]) {
    for op in ["Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity"] {
      table[OpKey(op)] = BackwardRule(nonDifferentiableInputs: [1]) { ctx in
        [try ctx.outputGrad().reshaped(try ctx.forward.input(0).shape)]
      }
    }
    table[OpKey("Expand")] = BackwardRule(nonDifferentiableInputs: [1]) { ctx in
      [try sumToShape(ctx.outputGrad(), try ctx.forward.input(0).shape), nil]
    }
    table[OpKey("Gather")] = BackwardRule(nonDifferentiableInputs: [1]) { ctx in [try gatherBackward(ctx), nil] }
    for op in ["Transpose", "Slice", "GatherElements", "Tile", "Split"] {
      table[OpKey(op)] = BackwardRule(nonDifferentiableInputs: [1, 2, 3, 4]) { ctx in
        try indexMapped(ctx, data: [0])
      }
    }
    table[OpKey("Concat")] = BackwardRule { ctx in
      try indexMapped(ctx, data: Array(0..<ctx.forward.inputCount))
    }
  }

  /// Gather's adjoint, a scatter-add (an embedding table's rows read twice add up):
  /// data [pre, n, post], y [pre, indices…, post]: dx[p, idx[j], q] += dy[p, j, q].
  /// (Its own rule rather than the index map: the map would number every row of the table.)
  static func gatherBackward(_ ctx: BackwardContext) throws -> Tensor {
    let data = try ctx.forward.input(0)
    let indices = try ctx.forward.intValues(1)
    let axis = try ctx.forward.axis(try ctx.forward.int("axis", default: 0), rank: data.rank)
    let n = data.shape[axis]
    let pre = data.shape[..<axis].reduce(1, *), post = data.shape[(axis + 1)...].reduce(1, *)
    let dy = ctx.outputGrad().floats
    var dx = [Float](repeating: 0, count: data.count)
    let k = indices.count
    dy.withUnsafeBufferPointer { g in
      dx.withUnsafeMutableBufferPointer { d in
        for p in 0..<pre {
          for (j, raw) in indices.enumerated() {
            let i = raw < 0 ? raw + n : raw
            let src = (p * k + j) * post, dst = (p * n + i) * post
            for q in 0..<post { d[dst + q] += g[src + q] }
          }
        }
      }
    }
    return Tensor(shape: data.shape, floats: dx)
  }

  /// Gradients of the `data` inputs of a copying op: its forward kernel run on Int64 element indices
  /// (numbered across all data inputs) maps each output element to its source element.
  static func indexMapped(_ ctx: BackwardContext, data: [Int]) throws -> [Tensor?] {
    let node = ctx.node
    guard let kernel = OpRegistry.standard[OpKey(node.opType, domain: node.domain)]?.kernel else {
      throw ModelGraphError.invalidModel("node '\(node.name)' (\(node.opType)): no forward kernel to map indices")
    }
    var indexCtx = ctx.forward
    var starts: [Int] = []
    var total = 0
    for i in data {
      let x = try ctx.forward.input(i)
      starts.append(total)
      indexCtx.inputs[i] = Tensor(shape: x.shape, int64s: (0..<x.count).map { Int64(total + $0) })
      total += x.count
    }
    let sources = try kernel(&indexCtx)
    var flat = [Float](repeating: 0, count: total)
    for (k, grad) in ctx.outputGrads.enumerated() {
      guard let grad, k < sources.count else { continue }
      let index = sources[k].int64s, g = grad.floats
      precondition(index.count == g.count, "index map of '\(node.name)': \(index.count) vs \(g.count) elements")
      flat.withUnsafeMutableBufferPointer { f in
        for j in 0..<g.count { f[Int(index[j])] += g[j] }
      }
    }
    var grads = [Tensor?](repeating: nil, count: ctx.forward.inputCount)
    for (n, i) in data.enumerated() where ctx.needs(i) {
      let x = try ctx.forward.input(i)
      grads[i] = Tensor(shape: x.shape, floats: Array(flat[starts[n]..<(starts[n] + x.count)]))
    }
    return grads
  }
}

/// Backward of ReduceSum and ReduceMean: dy broadcast back over the reduced axes (÷ count for the mean).
/// Axes come from the `axes` attribute or, in newer opsets, input 1 (none = all axes, unless
/// noop_with_empty_axes).
enum ReduceBackward {
  static func register(into table: inout [OpKey: BackwardRule]) {
    table[OpKey("ReduceSum")] = BackwardRule(nonDifferentiableInputs: [1]) { ctx in [try reduceBackward(ctx, mean: false), nil] }
    table[OpKey("ReduceMean")] = BackwardRule(nonDifferentiableInputs: [1]) { ctx in [try reduceBackward(ctx, mean: true), nil] }
  }

  static func reduceBackward(_ ctx: BackwardContext, mean: Bool) throws -> Tensor {
    let x = try ctx.forward.floatInput(0)
    var axes = try ctx.forward.ints("axes")
    if axes == nil, ctx.forward.inputCount > 1, ctx.forward.optionalInput(1) != nil {
      axes = try ctx.forward.intValues(1)
    }
    let noop = try ctx.forward.int("noop_with_empty_axes", default: 0) != 0
    if axes?.isEmpty ?? true {
      if noop { return ctx.outputGrad() }
      axes = Array(0..<x.rank)
    }
    var kept = x.shape
    for a in axes! { kept[try ctx.forward.axis(a, rank: x.rank)] = 1 }
    let dy = try ctx.outputGrad().reshaped(kept).expand(to: x.shape)
    return mean ? dy.multiplied(by: Float(kept.reduce(1, *)) / Float(Swift.max(x.count, 1))) : dy
  }
}
