import ModelGraph
import TensorCore

/// Pad (ONNX spec): pads [x1_begin, x2_begin, …, x1_end, x2_end, …] as an attribute (< 11) or
/// input 1 (≥ 11), constant value attribute/input 2, optional axes input 3 (≥ 18); modes constant,
/// reflect, edge, wrap. Negative pads crop.
enum PadOp {
  static func register(into table: inout [OpKey: OpDefinition]) {
    table[OpKey("Pad")] = OpDefinition { ctx in [try pad(ctx)] }
  }

  static func pad(_ ctx: OpContext) throws -> Tensor {
    let x = try ctx.input(0)
    let rank = x.rank
    var pads: [Int]
    var value: Tensor
    if ctx.opset < 11 {
      pads = try ctx.ints("pads") ?? []
      value = Tensor(shape: [], floats: [try ctx.float("value", default: 0)])
    } else {
      pads = try ctx.intValues(1)
      value = ctx.optionalInput(2) ?? Tensor(shape: [], floats: [0])
    }
    if let axesInput = ctx.optionalInput(3), ctx.inputCount > 3 {
      let axes = try axesInput.asInt64s().map { try ctx.axis(Int($0), rank: rank) }
      guard pads.count == 2 * axes.count else {
        throw ctx.shapeError(expected: "\(2 * axes.count) pads for axes \(axes)", found: "\(pads)")
      }
      var full = [Int](repeating: 0, count: 2 * rank)
      for (i, a) in axes.enumerated() {
        full[a] = pads[i]
        full[a + rank] = pads[i + axes.count]
      }
      pads = full
    }
    guard pads.count == 2 * rank else { throw ctx.shapeError(expected: "\(2 * rank) pads", found: "\(pads)") }
    let mode = try ctx.string("mode", default: "constant")
    guard ["constant", "reflect", "edge", "wrap"].contains(mode) else { throw ctx.unsupported("mode", mode) }
    value = ShapeOps.cast(value, to: x.dtype)
    let shape = (0..<rank).map { x.shape[$0] + pads[$0] + pads[$0 + rank] }
    guard shape.allSatisfy({ $0 >= 0 }) else {
      throw ctx.shapeError(expected: "a non-negative padded shape", found: "\(shape)")
    }
    // Per axis: output coordinate → input coordinate, or −1 for the constant.
    let maps = (0..<rank).map { d -> [Int] in
      let n = x.shape[d]
      return (0..<shape[d]).map { o -> Int in
        let i = o - pads[d]
        if i >= 0 && i < n { return i }
        if n == 0 { return -1 }
        switch mode {
        case "edge": return Swift.min(Swift.max(i, 0), n - 1)
        case "wrap": return ((i % n) + n) % n
        case "reflect":
          guard n > 1 else { return 0 }
          let period = 2 * (n - 1)
          let m = ((i % period) + period) % period
          return m < n ? m : period - m
        default:
          _ = ctx
          return -1
        }
      }
    }
    let strides = Tensor.strides(of: x.shape)
    let count = Tensor.elementCount(shape)
    var offsets = [Int](repeating: 0, count: count)
    var index = [Int](repeating: 0, count: rank)
    for k in 0..<count {
      var o = 0
      for d in 0..<rank {
        let i = maps[d][index[d]]
        if i < 0 {
          o = x.count  // the constant, placed right after x
          break
        }
        o += i * strides[d]
      }
      offsets[k] = o
      var d = rank - 1
      while d >= 0 {
        index[d] += 1
        if index[d] < shape[d] { break }
        index[d] = 0
        d -= 1
      }
    }
    let source = Tensor.joined([x, value.gathering(offsets: [0], shape: [1])], shape: [x.count + 1])
    return source.gathering(offsets: offsets, shape: shape)
  }
}
