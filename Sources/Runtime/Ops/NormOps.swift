import ModelGraph
import TensorCore

/// Normalisations (ONNX spec): BatchNormalization in inference mode, LayerNormalization (opset 17),
/// InstanceNormalization.
enum NormOps {
  static func register(into table: inout [OpKey: OpDefinition]) {
    table[OpKey("BatchNormalization")] = OpDefinition { ctx in [try batchNorm(&ctx)] }
    table[OpKey("LayerNormalization")] = OpDefinition { ctx in [try layerNorm(&ctx)] }
    table[OpKey("InstanceNormalization")] = OpDefinition { ctx in [try instanceNorm(&ctx)] }
  }

  /// Y = (X − mean[c]) / √(var[c] + ε) · scale[c] + B[c] over X [N, C, …] (running statistics).
  static func batchNorm(_ ctx: inout OpContext) throws -> Tensor {
    if try ctx.int("training_mode", default: 0) != 0 { throw ctx.unsupported("training_mode", "1") }
    if ctx.node.outputs.dropFirst().contains(where: { !$0.isEmpty }) {
      throw ctx.unsupported("outputs", "running mean/var outputs (training) requested")
    }
    let epsilon = try ctx.float("epsilon", default: 1e-5)
    let (scale, bias, mean, variance) = try (
      ctx.input(1).asFloats(), ctx.input(2).asFloats(), ctx.input(3).asFloats(), ctx.input(4).asFloats()
    )
    var x = try ctx.takeInput(0)
    guard x.dtype == .float32, x.rank >= 2 else {
      throw ctx.shapeError(expected: "X [N, C, …]", found: "\(x.shape)")
    }
    let channels = x.shape[1]
    guard [scale, bias, mean, variance].allSatisfy({ $0.count == channels }) else {
      throw ctx.shapeError(expected: "scale/B/mean/var of [\(channels)]", found: "\(scale.count) elements")
    }
    let inner = x.shape[2...].reduce(1, *)
    let shape = x.shape
    var v = x.takeFloats()
    let a = (0..<channels).map { scale[$0] / (variance[$0] + epsilon).squareRoot() }
    let b = (0..<channels).map { bias[$0] - mean[$0] * a[$0] }
    v.withUnsafeMutableBufferPointer { p in
      for plane in 0..<(shape[0] * channels) {
        let c = plane % channels
        let base = plane * inner
        for i in 0..<inner { p[base + i] = p[base + i] * a[c] + b[c] }
      }
    }
    return Tensor(shape: shape, floats: v)
  }

  /// Y = (X − mean) / √(var + ε) · Scale + B, statistics over the axes from `axis` to the end.
  static func layerNorm(_ ctx: inout OpContext) throws -> Tensor {
    if ctx.node.outputs.dropFirst().contains(where: { !$0.isEmpty }) {
      throw ctx.unsupported("outputs", "Mean/InvStdDev outputs requested")
    }
    let epsilon = try ctx.float("epsilon", default: 1e-5)
    var x = try ctx.takeInput(0)
    guard x.dtype == .float32 else { throw ctx.dtypeError(input: 0, expected: "float32", found: x.dtype) }
    let axis = try ctx.axis(try ctx.int("axis", default: -1), rank: x.rank)
    let inner = x.shape[axis...].reduce(1, *)
    let scale = try expand(ctx.input(1), to: Array(x.shape[axis...]), ctx)
    let bias = try ctx.optionalInput(2).map { try expand($0, to: Array(x.shape[axis...]), ctx) }
    let shape = x.shape
    var v = x.takeFloats()
    let rows = inner == 0 ? 0 : v.count / inner
    v.withUnsafeMutableBufferPointer { p in
      scale.withUnsafeBufferPointer { g in
        LinearOps.withOptionalPointer(bias ?? []) { b in
          guard let base = p.baseAddress, let g = g.baseAddress else { return }
          layerNormInPlace(base, rows: rows, d: inner, scale: g, bias: b, epsilon: epsilon)
        }
      }
    }
    return Tensor(shape: shape, floats: v)
  }

  /// A scale/bias broadcast to the normalised shape, as floats.
  static func expand(_ t: Tensor, to shape: [Int], _ ctx: OpContext) throws -> [Float] {
    let v = t.asFloats()
    if v.count == Tensor.elementCount(shape) { return v }
    guard Indexing.broadcast(t.shape, shape) == shape else {
      throw ctx.shapeError(expected: "scale/bias broadcastable to \(shape)", found: "\(t.shape)")
    }
    return Indexing.offsets(shape: shape, strides: Indexing.broadcastStrides(t.shape, to: shape)).map {
      v[$0]
    }
  }

  /// Y = (X − mean_{n,c}) / √(var_{n,c} + ε) · scale[c] + B[c] over the spatial axes of X [N, C, …].
  static func instanceNorm(_ ctx: inout OpContext) throws -> Tensor {
    let epsilon = try ctx.float("epsilon", default: 1e-5)
    let scale = try ctx.input(1).asFloats()
    let bias = try ctx.input(2).asFloats()
    var x = try ctx.takeInput(0)
    guard x.dtype == .float32, x.rank >= 3, scale.count == x.shape[1], bias.count == x.shape[1] else {
      throw ctx.shapeError(expected: "X [N, C, …] with scale/B [C]", found: "\(x.shape)")
    }
    let shape = x.shape
    let inner = shape[2...].reduce(1, *)
    var v = x.takeFloats()
    v.withUnsafeMutableBufferPointer { p in
      for plane in 0..<(shape[0] * shape[1]) {
        let c = plane % shape[1]
        let (g, b) = ([Float](repeating: scale[c], count: inner), [Float](repeating: bias[c], count: inner))
        layerNormInPlace(p.baseAddress! + plane * inner, rows: 1, d: inner, scale: g, bias: b, epsilon: epsilon)
      }
    }
    return Tensor(shape: shape, floats: v)
  }
}
