import Foundation
import ModelGraph
import TensorCore

/// Backward rules of the activations (ONNX Relu, LeakyRelu, Sigmoid, Tanh, Gelu, HardSigmoid,
/// HardSwish, Clip, Softplus, Elu) and of Softmax/LogSoftmax with the opset-13 change of axis
/// semantics. Each derivative reads the forward's input x and/or output y.
enum ActivationBackward {
  static func register(into table: inout [OpKey: BackwardRule]) {
    ElementwiseBackward.unary(&table, "Relu") { x, _, g in x > 0 ? g : 0 }
    ElementwiseBackward.unary(&table, "Sigmoid") { _, y, g in g * y * (1 - y) }
    ElementwiseBackward.unary(&table, "Tanh") { _, y, g in g * (1 - y * y) }
    ElementwiseBackward.unary(&table, "HardSwish") { x, _, g in
      x < -3 ? 0 : (x > 3 ? g : g * (x / 3 + 0.5))
    }
    ElementwiseBackward.unary(&table, "Softplus") { x, _, g in g / (1 + Foundation.exp(-x)) }
    table[OpKey("LeakyRelu")] = BackwardRule { ctx in
      let alpha = try ctx.forward.float("alpha", default: 0.01)
      return [zipped(try ctx.forward.floatInput(0), ctx.outputGrad()) { x, g in x >= 0 ? g : alpha * g }]
    }
    table[OpKey("Elu")] = BackwardRule { ctx in
      let alpha = try ctx.forward.float("alpha", default: 1)
      return [zipped3(try ctx.forward.floatInput(0), ctx.outputs[0], ctx.outputGrad()) { x, y, g in x >= 0 ? g : g * (y + alpha) }]
    }
    table[OpKey("HardSigmoid")] = BackwardRule { ctx in
      let alpha = try ctx.forward.float("alpha", default: 0.2), beta = try ctx.forward.float("beta", default: 0.5)
      return [
        zipped(try ctx.forward.floatInput(0), ctx.outputGrad()) { x, g in
          let v = alpha * x + beta
          return v > 0 && v < 1 ? alpha * g : 0
        }
      ]
    }
    table[OpKey("Gelu")] = BackwardRule { ctx in
      let tanhForm = try ctx.forward.string("approximate", default: "none") == "tanh"
      return [zipped(try ctx.forward.floatInput(0), ctx.outputGrad()) { x, g in g * geluDerivative(x, tanh: tanhForm) }]
    }
    // Clip passes the gradient where low < x < high (bounds themselves get none).
    table[OpKey("Clip")] = BackwardRule(nonDifferentiableInputs: [1, 2]) { ctx in
      var low = -Float.infinity, high = Float.infinity
      if ctx.forward.opset < 11 {
        low = try ctx.forward.float("min", default: low)
        high = try ctx.forward.float("max", default: high)
      } else {
        if let t = ctx.forward.optionalInput(1) { low = t.asFloats().first ?? low }
        if let t = ctx.forward.optionalInput(2) { high = t.asFloats().first ?? high }
      }
      return [zipped(try ctx.forward.floatInput(0), ctx.outputGrad()) { x, g in x > low && x < high ? g : 0 }]
    }
    table[OpKey("Softmax")] = BackwardRule { ctx in [try softmaxBackward(ctx, log: false)] }
    table[OpKey("LogSoftmax")] = BackwardRule { ctx in [try softmaxBackward(ctx, log: true)] }
  }

  /// d/dx of GELU: exact Φ(x) + x·φ(x), or the derivative of the tanh form.
  static func geluDerivative(_ x: Float, tanh tanhForm: Bool) -> Float {
    if tanhForm {
      let k: Float = 0.797_884_56, u = k * (x + 0.044715 * x * x * x)
      let t = Foundation.tanh(u)
      return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x)
    }
    let cdf = 0.5 * (1 + Foundation.erf(x * 0.707_106_78))
    let pdf = 0.398_942_28 * Foundation.exp(-0.5 * x * x)
    return cdf + x * pdf
  }

  /// Softmax: dx = y·(dy − Σ dy·y); LogSoftmax: dx = dy − softmax·Σ dy, along the op's axis
  /// (one axis from opset 13; before, the flattened trailing block from `axis`, default 1).
  static func softmaxBackward(_ ctx: BackwardContext, log: Bool) throws -> Tensor {
    let y = ctx.outputs[0], dy = ctx.outputGrad(), shape = y.shape, rank = y.rank
    let modern = ctx.forward.opset >= 13
    let axis = try ctx.forward.axis(try ctx.forward.int("axis", default: modern ? -1 : 1), rank: rank)
    let outer = shape[..<axis].reduce(1, *)
    let length = modern ? (rank == 0 ? 1 : shape[axis]) : shape[axis...].reduce(1, *)
    let inner = modern ? shape[(axis + 1)...].reduce(1, *) : 1
    let yv = y.floats, gv = dy.floats
    var dx = [Float](repeating: 0, count: yv.count)
    yv.withUnsafeBufferPointer { yp in
      gv.withUnsafeBufferPointer { gp in
        dx.withUnsafeMutableBufferPointer { dp in
          let (ys, gs, ds) = (
            SendableConstPointer(yp.baseAddress!).base, SendableConstPointer(gp.baseAddress!).base,
            SendablePointer(dp.baseAddress!).base)
          ThreadPool.shared.parallelFor(outer) { o in
            for i in 0..<inner {
              let base = o * length * inner + i
              var s: Float = 0
              if log {
                for j in 0..<length { s += gs[base + j * inner] }
                for j in 0..<length {
                  let k = base + j * inner
                  ds[k] = gs[k] - Foundation.exp(ys[k]) * s
                }
              } else {
                for j in 0..<length { s += gs[base + j * inner] * ys[base + j * inner] }
                for j in 0..<length {
                  let k = base + j * inner
                  ds[k] = ys[k] * (gs[k] - s)
                }
              }
            }
          }
        }
      }
    }
    return Tensor(shape: shape, floats: dx)
  }
}
