import ModelGraph
import TensorCore

/// Ops that move elements without arithmetic (ONNX spec), on every dtype: Transpose, Concat, Split,
/// Slice, Gather, Expand, Tile. Pad is in PadOp.swift.
enum MovementOps {
  static func register(into table: inout [OpKey: OpDefinition]) {
    table[OpKey("Transpose")] = OpDefinition { ctx in [try transpose(ctx)] }
    table[OpKey("Concat")] = OpDefinition { ctx in [try concat(ctx)] }
    table[OpKey("Split")] = OpDefinition { ctx in try split(ctx) }
    table[OpKey("Slice")] = OpDefinition { ctx in [try slice(ctx)] }
    table[OpKey("Gather")] = OpDefinition { ctx in [try gather(ctx)] }
    table[OpKey("Expand")] = OpDefinition { ctx in
      let x = try ctx.input(0)
      let dims = try ctx.intValues(1)
      guard let shape = Indexing.broadcast(x.shape, dims) else {
        throw ctx.shapeError(expected: "shape broadcastable with \(x.shape)", found: "\(dims)")
      }
      if shape == x.shape { return [x] }
      return [
        x.gathering(
          offsets: Indexing.offsets(shape: shape, strides: Indexing.broadcastStrides(x.shape, to: shape)),
          shape: shape)
      ]
    }
    table[OpKey("Tile")] = OpDefinition { ctx in
      let x = try ctx.input(0)
      let repeats = try ctx.intValues(1)
      guard repeats.count == x.rank, repeats.allSatisfy({ $0 >= 0 }) else {
        throw ctx.shapeError(expected: "\(x.rank) repeats ≥ 0", found: "\(repeats)")
      }
      let shape = zip(x.shape, repeats).map { $0 * $1 }
      // Index the output as [r0, d0, r1, d1, …] with stride 0 on the repeat axes.
      let strides = Tensor.strides(of: x.shape)
      let split = zip(repeats, x.shape).flatMap { [$0, $1] }
      let splitStrides = strides.flatMap { [0, $0] }
      let offsets = Indexing.offsets(shape: split, strides: splitStrides)
      // offsets are in [r0, d0, r1, d1] order; reorder to [r0·d0 + …] row-major of the output.
      let outIndex = Indexing.offsets(
        shape: split,
        strides: (0..<x.rank).flatMap { d -> [Int] in
          let outStrides = Tensor.strides(of: shape)
          return [outStrides[d] * x.shape[d], outStrides[d]]
        })
      var ordered = [Int](repeating: 0, count: offsets.count)
      for (k, o) in outIndex.enumerated() { ordered[o] = offsets[k] }
      return [x.gathering(offsets: ordered, shape: shape)]
    }
    PadOp.register(into: &table)
  }

  /// Transpose by `perm` (default: reversed axes). Output axis i is input axis perm[i].
  static func transpose(_ ctx: OpContext) throws -> Tensor {
    let x = try ctx.input(0)
    let perm = try ctx.ints("perm") ?? Array((0..<x.rank).reversed())
    guard perm.sorted() == Array(0..<x.rank) else {
      throw ctx.unsupported("perm", "\(perm) for rank \(x.rank)")
    }
    return try x.transposed(perm: perm)  // TensorCore's coalescing strided copy
  }

  static func concat(_ ctx: OpContext) throws -> Tensor {
    let parts = try (0..<ctx.inputCount).map { try ctx.input($0) }
    guard let first = parts.first else { throw ctx.shapeError(expected: "at least one input", found: "none") }
    let axis = try ctx.axis(try ctx.int("axis", default: 0), rank: first.rank)
    for (i, p) in parts.enumerated() {
      guard p.rank == first.rank, p.dtype == first.dtype,
        (0..<p.rank).allSatisfy({ $0 == axis || p.shape[$0] == first.shape[$0] })
      else {
        throw ctx.shapeError(expected: "\(first.shape) except axis \(axis)", found: "input \(i): \(p.shape)")
      }
    }
    var shape = first.shape
    shape[axis] = parts.reduce(0) { $0 + $1.shape[axis] }
    let outer = first.shape[..<axis].reduce(1, *)
    if outer == 1 { return Tensor.joined(parts, shape: shape) }
    // Gather from all parts laid end to end: for each outer index, each part's block in turn.
    let all = Tensor.joined(parts, shape: [parts.reduce(0) { $0 + $1.count }])
    var offsets: [Int] = []
    offsets.reserveCapacity(all.count)
    var starts: [Int] = []
    var start = 0
    for p in parts {
      starts.append(start)
      start += p.count
    }
    for o in 0..<outer {
      for (i, p) in parts.enumerated() {
        let block = p.count / outer
        offsets.append(contentsOf: (starts[i] + o * block)..<(starts[i] + (o + 1) * block))
      }
    }
    return all.gathering(offsets: offsets, shape: shape)
  }

  /// Split: sizes from the `split` attribute (< 13) or input 1 (≥ 13), else equal parts — as many
  /// as outputs, or `num_outputs` (18), the last one smaller when the size does not divide.
  static func split(_ ctx: OpContext) throws -> [Tensor] {
    let x = try ctx.input(0)
    let axis = try ctx.axis(try ctx.int("axis", default: 0), rank: x.rank)
    let size = x.shape[axis]
    var sizes: [Int]
    if ctx.opset < 13, let s = try ctx.ints("split") {
      sizes = s
    } else if ctx.opset >= 13, ctx.optionalInput(1) != nil {
      sizes = try ctx.intValues(1)
    } else {
      let parts = try ctx.intIfPresent("num_outputs") ?? ctx.node.outputs.count
      let chunk = (size + parts - 1) / Swift.max(parts, 1)
      sizes = (0..<parts).map { Swift.max(0, Swift.min(chunk, size - $0 * chunk)) }
    }
    guard sizes.reduce(0, +) == size, sizes.allSatisfy({ $0 >= 0 }) else {
      throw ctx.shapeError(expected: "split sizes summing to \(size)", found: "\(sizes)")
    }
    var results: [Tensor] = []
    var start = 0
    let strides = Tensor.strides(of: x.shape)
    for s in sizes {
      var shape = x.shape
      shape[axis] = s
      results.append(
        x.gathering(
          offsets: Indexing.offsets(shape: shape, strides: strides, base: start * strides[axis]), shape: shape
        ))
      start += s
    }
    return results
  }

  /// Slice: starts/ends/axes/steps as inputs (opset ≥ 10) or attributes (< 10); indices clamped as
  /// in the spec, negative steps walk backwards.
  static func slice(_ ctx: OpContext) throws -> Tensor {
    let x = try ctx.input(0)
    let starts: [Int], ends: [Int], axesValue: [Int]?, steps: [Int]?
    if ctx.opset < 10 {
      guard let s = try ctx.ints("starts"), let e = try ctx.ints("ends") else {
        throw ctx.unsupported("starts/ends", "missing")
      }
      (starts, ends, axesValue, steps) = (s, e, try ctx.ints("axes"), nil)
    } else {
      starts = try ctx.intValues(1)
      ends = try ctx.intValues(2)
      axesValue = ctx.optionalInput(3) == nil ? nil : try ctx.intValues(3)
      steps = ctx.optionalInput(4) == nil ? nil : try ctx.intValues(4)
    }
    let axes = try (axesValue ?? Array(0..<starts.count)).map { try ctx.axis($0, rank: x.rank) }
    guard ends.count == starts.count, axes.count == starts.count,
      (steps?.count ?? starts.count) == starts.count
    else {
      throw ctx.shapeError(expected: "starts/ends/axes/steps of one length", found: "\(starts), \(ends)")
    }
    var shape = x.shape
    let strides = Tensor.strides(of: x.shape)
    var readStrides = strides
    var base = 0
    for (i, axis) in axes.enumerated() {
      let step = steps?[i] ?? 1
      guard step != 0 else { throw ctx.unsupported("steps", "0") }
      let dim = x.shape[axis]
      func norm(_ v: Int) -> Int { v < 0 ? v + dim : v }
      var (s, e) = (norm(starts[i]), norm(ends[i]))
      if step > 0 {
        s = Swift.min(Swift.max(s, 0), dim)
        e = Swift.min(Swift.max(e, 0), dim)
        shape[axis] = Swift.max(0, (e - s + step - 1) / step)
      } else {
        s = Swift.min(Swift.max(s, -1), dim - 1)
        e = Swift.min(Swift.max(e, -1), dim - 1)
        shape[axis] = Swift.max(0, (s - e - step - 1) / -step)
      }
      base += s * strides[axis]
      readStrides[axis] = strides[axis] * step
    }
    if shape.contains(0) { return x.gathering(offsets: [], shape: shape) }
    return x.gathering(
      offsets: Indexing.offsets(shape: shape, strides: readStrides, base: base), shape: shape)
  }

  /// Gather along `axis`: out[i…, j…, k…] = data[i…, indices[j…], k…] (negative indices wrap).
  static func gather(_ ctx: OpContext) throws -> Tensor {
    let data = try ctx.input(0)
    let indices = try ctx.intValues(1)
    let axis = try ctx.axis(try ctx.int("axis", default: 0), rank: data.rank)
    let dim = data.shape[axis]
    // Checked here so the error names the node; TensorCore's gather then copies whole rows.
    if let bad = indices.first(where: { $0 < -dim || $0 >= dim }) {
      throw ctx.shapeError(expected: "indices in [-\(dim), \(dim))", found: "\(bad)")
    }
    return try TensorCore.gather(data, indices: ctx.input(1), axis: axis)
  }
}
