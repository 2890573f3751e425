import ModelGraph
import TensorCore

/// Reductions (ONNX spec): ReduceMean, ReduceSum, ReduceMax, ReduceMin, ReduceProd, ReduceL2,
/// ReduceSumSquare; ArgMax/ArgMin. Axes are an attribute before opset 18 (ReduceSum: before 13)
/// and input 1 afterwards; no axes reduce everything unless noop_with_empty_axes = 1.
enum ReduceOps {
  enum Kind { case mean, sum, max, min, prod, l2, sumSquare }

  static func register(into table: inout [OpKey: OpDefinition]) {
    let kinds: [(String, Kind)] = [
      ("ReduceMean", .mean), ("ReduceSum", .sum), ("ReduceMax", .max), ("ReduceMin", .min),
      ("ReduceProd", .prod), ("ReduceL2", .l2), ("ReduceSumSquare", .sumSquare),
    ]
    for (name, kind) in kinds {
      let inputSince = kind == .sum ? 13 : 18
      table[OpKey(name)] = OpDefinition { ctx in [try reduce(ctx, kind, axesInputSince: inputSince)] }
    }
  }

  static func reduce(_ ctx: OpContext, _ kind: Kind, axesInputSince version: Int) throws -> Tensor {
    let x = try ctx.input(0)
    let keepDims = try ctx.int("keepdims", default: 1) != 0
    var axes = try ShapeOps.axes(ctx, attributeBefore: version) ?? []
    if axes.isEmpty {
      if try ctx.int("noop_with_empty_axes", default: 0) != 0 { return x }
      axes = Array(0..<x.rank)
    }
    let reduced = try Set(axes.map { try ctx.axis($0, rank: x.rank) })
    let keptShape = x.shape.indices.map { reduced.contains($0) ? 1 : x.shape[$0] }
    let outShape = keepDims ? keptShape : x.shape.indices.filter { !reduced.contains($0) }.map { x.shape[$0] }
    let isInt = x.dtype == .int64
    let values = x.asFloats()
    let outCount = Tensor.elementCount(keptShape)
    // Each output element's first input offset, then the offsets of its reduction window.
    let strides = Tensor.strides(of: x.shape)
    let outStrides = x.shape.indices.map { reduced.contains($0) ? 0 : strides[$0] }
    let starts = Indexing.offsets(shape: keptShape, strides: outStrides)
    let windowShape = x.shape.indices.map { reduced.contains($0) ? x.shape[$0] : 1 }
    let window = Indexing.offsets(shape: windowShape, strides: strides)
    var out = [Float](repeating: 0, count: outCount)
    for o in 0..<outCount {
      var acc: Float
      switch kind {
      case .max: acc = -.infinity
      case .min: acc = .infinity
      case .prod: acc = 1
      default: acc = 0
      }
      for w in window {
        let v = values[starts[o] + w]
        switch kind {
        case .mean, .sum: acc += v
        case .max: acc = Swift.max(acc, v)
        case .min: acc = Swift.min(acc, v)
        case .prod: acc *= v
        case .l2, .sumSquare: acc += v * v
        }
      }
      if kind == .mean { acc /= Float(Swift.max(window.count, 1)) }
      if kind == .l2 { acc = acc.squareRoot() }
      out[o] = acc
    }
    if isInt { return Tensor(shape: outShape, int64s: out.map { Int64($0) }) }
    return Tensor(shape: outShape, floats: out)
  }
}
