import Foundation
import ModelGraph
import TensorCore

/// Activations (ONNX operator spec): Relu, LeakyRelu, Elu, Gelu, Erf, Tanh, Sigmoid, HardSigmoid,
/// HardSwish, Softplus, Clip, and Softmax/LogSoftmax with the opset-13 change of axis semantics.
enum ActivationOps {
  static func register(into table: inout [OpKey: OpDefinition]) {
    table[OpKey("Relu")] = OpDefinition { ctx in
      guard try ctx.input(0).dtype == .float32 else {
        return [try ElementwiseOps.unary(&ctx, { Swift.max($0, 0) }, int: { Swift.max($0, 0) })]
      }
      var taken = try ctx.takeInput(0)
      var v = taken.takeFloats()
      clamp(&v, 0, .infinity)
      return [Tensor(shape: taken.shape, floats: v)]
    }
    // SIMD kernels from TensorCore (each tested there against its …Reference).
    table[OpKey("Tanh")] = OpDefinition { ctx in [TensorCore.tanh(try ctx.floatInput(0))] }
    table[OpKey("Erf")] = OpDefinition { ctx in [TensorCore.erf(try ctx.floatInput(0))] }
    table[OpKey("Sigmoid")] = OpDefinition { ctx in [TensorCore.sigmoid(try ctx.floatInput(0))] }
    table[OpKey("Softplus")] = OpDefinition { ctx in
      [try ElementwiseOps.unary(&ctx, { $0 > 20 ? $0 : log1pf(expf($0)) })]
    }
    table[OpKey("LeakyRelu")] = OpDefinition { ctx in
      let alpha = try ctx.float("alpha", default: 0.01)
      return [try ElementwiseOps.unary(&ctx, { $0 >= 0 ? $0 : alpha * $0 })]
    }
    table[OpKey("Elu")] = OpDefinition { ctx in
      let alpha = try ctx.float("alpha", default: 1)
      return [try ElementwiseOps.unary(&ctx, { $0 >= 0 ? $0 : alpha * (expf($0) - 1) })]
    }
    table[OpKey("HardSigmoid")] = OpDefinition { ctx in
      let alpha = try ctx.float("alpha", default: 0.2)
      let beta = try ctx.float("beta", default: 0.5)
      return [try ElementwiseOps.unary(&ctx, { Swift.max(0, Swift.min(1, alpha * $0 + beta)) })]
    }
    table[OpKey("HardSwish")] = OpDefinition { ctx in
      [try ElementwiseOps.unary(&ctx, { $0 * Swift.max(0, Swift.min(1, $0 / 6 + 0.5)) })]
    }
    table[OpKey("Gelu")] = OpDefinition { ctx in
      switch try ctx.string("approximate", default: "none") {
      case "none": return [TensorCore.gelu(try ctx.floatInput(0))]
      case "tanh": return [try ElementwiseOps.unary(&ctx, geluTanh)]
      case let other: throw ctx.unsupported("approximate", other)
      }
    }
    table[OpKey("Clip")] = OpDefinition { ctx in [try clip(&ctx)] }
    table[OpKey("Softmax")] = OpDefinition { ctx in [try softmax(&ctx, log: false)] }
    table[OpKey("LogSoftmax")] = OpDefinition { ctx in [try softmax(&ctx, log: true)] }
  }

  @inline(__always) static func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }

  /// GELU, exact form: x·Φ(x) = 0.5·x·(1 + erf(x/√2)) (Hendrycks & Gimpel 2016).
  @inline(__always) static func geluErf(_ x: Float) -> Float {
    0.5 * x * (1 + erff(x * 0.70710678118654752))
  }

  /// GELU, tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
  @inline(__always) static func geluTanh(_ x: Float) -> Float {
    0.5 * x * (1 + tanhf(0.7978845608028654 * (x + 0.044715 * x * x * x)))
  }

  /// Clip: bounds are attributes `min`/`max` before opset 11, optional inputs 1 and 2 from 11 on.
  static func clip(_ ctx: inout OpContext) throws -> Tensor {
    var low = -Float.infinity
    var high = Float.infinity
    if ctx.opset < 11 {
      low = try ctx.float("min", default: low)
      high = try ctx.float("max", default: high)
    } else {
      if let t = ctx.optionalInput(1) { low = t.asFloats().first ?? low }
      if let t = ctx.optionalInput(2) { high = t.asFloats().first ?? high }
    }
    if try ctx.input(0).dtype == .int64 {
      let x = try ctx.input(0)
      return Tensor(
        shape: x.shape, int64s: x.int64s.map { Int64(Swift.min(Swift.max(Float($0), low), high)) })
    }
    let dtype = try ctx.input(0).dtype
    guard dtype == .float32 else { throw ctx.dtypeError(input: 0, expected: "float32", found: dtype) }
    var taken = try ctx.takeInput(0)
    var v = taken.takeFloats()
    clamp(&v, low, high)
    return Tensor(shape: taken.shape, floats: v)
  }

  /// v ← min(max(v, low), high) in SIMD16 chunks over the thread pool (ReLU6 is Clip(0, 6); a
  /// closure per element made MobileNet's Clips take 60 % of its run).
  static func clamp(_ v: inout [Float], _ low: Float, _ high: Float) {
    let n = v.count
    v.withUnsafeMutableBufferPointer { p in
      guard let start = p.baseAddress else { return }
      let base = SendablePointer(start)
      let chunk = 1 << 15
      let chunks = (n + chunk - 1) / chunk
      let (lo, hi) = (SIMD16<Float>(repeating: low), SIMD16<Float>(repeating: high))
      ThreadPool.shared.parallelFor(chunks) { c in
        var i = c * chunk
        let end = Swift.min(n, i + chunk)
        while i + 16 <= end {
          let raw = UnsafeMutableRawPointer(base.base + i)
          let x = raw.loadUnaligned(as: SIMD16<Float>.self)
          raw.storeBytes(
            of: x.replacing(with: lo, where: x .< lo).replacing(with: hi, where: x .> hi),
            as: SIMD16<Float>.self)
          i += 16
        }
        while i < end {
          base.base[i] = Swift.min(Swift.max(base.base[i], low), high)
          i += 1
        }
      }
    }
  }

  /// Softmax (or log-softmax) over `axis`. Opset ≥ 13: one axis, default -1. Before 13 the input is
  /// coerced to 2-D [∏ dims < axis, ∏ dims ≥ axis] (default axis 1) and normalised over the second.
  static func softmax(_ ctx: inout OpContext, log: Bool) throws -> Tensor {
    if ctx.opset >= 13 {
      let x = try ctx.floatInput(0)
      let axis = try ctx.axis(try ctx.int("axis", default: -1), rank: x.rank)
      do {
        return log ? try TensorCore.logSoftmax(x, axis: axis) : try TensorCore.softmax(x, axis: axis)
      } catch {
        throw ctx.shapeError(expected: "a valid softmax axis", found: "\(error)")
      }
    }
    var x = try ctx.takeInput(0)
    guard x.dtype == .float32 else { throw ctx.dtypeError(input: 0, expected: "float32", found: x.dtype) }
    let rank = x.rank
    let axis = try ctx.axis(try ctx.int("axis", default: ctx.opset >= 13 ? -1 : 1), rank: rank)
    let shape = x.shape
    let outer: Int
    let length: Int
    let inner: Int
    if ctx.opset >= 13 {
      outer = shape[..<axis].reduce(1, *)
      length = rank == 0 ? 1 : shape[axis]
      inner = shape[(axis + 1)...].reduce(1, *)
    } else {
      outer = shape[..<axis].reduce(1, *)
      length = shape[axis...].reduce(1, *)
      inner = 1
    }
    var v = x.takeFloats()
    v.withUnsafeMutableBufferPointer { p in
      let base = SendablePointer(p.baseAddress!)
      ThreadPool.shared.parallelFor(outer) { o in
        for i in 0..<inner {
          softmaxRow(base.base + o * length * inner + i, count: length, stride: inner, log: log)
        }
      }
    }
    return Tensor(shape: shape, floats: v)
  }

  /// Numerically stable softmax of `count` elements `stride` apart, in place.
  @inline(__always)
  static func softmaxRow(_ p: UnsafeMutablePointer<Float>, count: Int, stride: Int, log: Bool) {
    var m = -Float.infinity
    for j in 0..<count { m = Swift.max(m, p[j * stride]) }
    var sum: Float = 0
    if log {
      for j in 0..<count { sum += expf(p[j * stride] - m) }
      let l = m + logf(sum)
      for j in 0..<count { p[j * stride] -= l }
    } else {
      for j in 0..<count {
        let e = expf(p[j * stride] - m)
        p[j * stride] = e
        sum += e
      }
      let inv = 1 / sum
      for j in 0..<count { p[j * stride] *= inv }
    }
  }
}
