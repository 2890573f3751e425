import Foundation
import ModelGraph
import TensorCore

/// Backward rules of the broadcasting arithmetic (ONNX Add/Sub/Mul/Div/Pow, Where) and of the
/// elementwise maths (Sqrt, Erf, Exp, Log, Neg, Reciprocal, Abs, Cast between float types).
/// Every broadcast operand's gradient is summed back to its shape (`sumToShape`).
enum ElementwiseBackward {
  static func register(into table: inout [OpKey: BackwardRule]) {
    table[OpKey("Add")] = BackwardRule { ctx in
      let dy = ctx.outputGrad()
      return try [operandGrad(ctx, 0, dy), operandGrad(ctx, 1, dy)]
    }
    table[OpKey("Sub")] = BackwardRule { ctx in
      let dy = ctx.outputGrad()
      return try [operandGrad(ctx, 0, dy), operandGrad(ctx, 1, neg(dy))]
    }
    // d(a·b) = b·dy, a·dy
    table[OpKey("Mul")] = BackwardRule { ctx in
      let (a, b, dy) = try (ctx.forward.floatInput(0), ctx.forward.floatInput(1), ctx.outputGrad())
      return try [
        ctx.needs(0) ? operandGrad(ctx, 0, mul(dy, b)) : nil, ctx.needs(1) ? operandGrad(ctx, 1, mul(dy, a)) : nil,
      ]
    }
    // d(a/b) = dy/b, −dy·y/b
    table[OpKey("Div")] = BackwardRule { ctx in
      let (b, y, dy) = try (ctx.forward.floatInput(1), ctx.outputs[0], ctx.outputGrad())
      let da = try div(dy, b)
      return try [
        ctx.needs(0) ? operandGrad(ctx, 0, da) : nil, ctx.needs(1) ? operandGrad(ctx, 1, neg(mul(da, y))) : nil,
      ]
    }
    // d(a^b) = b·a^(b−1)·dy, ln(a)·y·dy
    table[OpKey("Pow")] = BackwardRule { ctx in
      let (a, b, y, dy) = try (ctx.forward.floatInput(0), ctx.forward.floatInput(1), ctx.outputs[0], ctx.outputGrad())
      var grads: [Tensor?] = [nil, nil]
      if ctx.needs(0) {
        let local = try broadcast(a, b) { x, p in p == 2 ? 2 * x : p * Foundation.pow(x, p - 1) }
        grads[0] = try operandGrad(ctx, 0, mul(dy, local))
      }
      if ctx.needs(1) {
        let local = try broadcast(a, y) { x, v in x > 0 ? Foundation.log(x) * v : 0 }
        grads[1] = try operandGrad(ctx, 1, mul(dy, local))
      }
      return grads
    }
    // Where(cond, x, y): dx = dy where cond, dy = dy elsewhere.
    table[OpKey("Where")] = BackwardRule(nonDifferentiableInputs: [0]) { ctx in
      let dy = ctx.outputGrad()
      let cond = try ctx.forward.input(0).bools
      let condShape = try ctx.forward.input(0).shape
      let picked = try Tensor(shape: condShape, floats: cond.map { $0 ? 1 : 0 }).expand(to: dy.shape)
      let take = try mul(dy, picked)
      return try [nil, operandGrad(ctx, 1, take), operandGrad(ctx, 2, sub(dy, take))]
    }
    unary(&table, "Sqrt") { _, y, g in g * 0.5 / y }
    unary(&table, "Erf") { x, _, g in g * 1.128_379_2 * Foundation.exp(-x * x) }  // 2/√π·e^(−x²)
    unary(&table, "Exp") { _, y, g in g * y }
    unary(&table, "Log") { x, _, g in g / x }
    unary(&table, "Neg") { _, _, g in -g }
    unary(&table, "Reciprocal") { _, y, g in -g * y * y }
    unary(&table, "Abs") { x, _, g in x > 0 ? g : (x < 0 ? -g : 0) }
    table[OpKey("Cast")] = BackwardRule { ctx in
      // Float to float (computed in Float32 throughout): identity. To an integer or bool: no gradient.
      guard ctx.outputs[0].dtype == .float32, try ctx.forward.input(0).dtype == .float32 else { return [nil] }
      return [ctx.outputGrad()]
    }
  }

  /// An elementwise op y = f(x) whose derivative is `d(x, y, dy)`.
  static func unary(
    _ table: inout [OpKey: BackwardRule], _ op: String, _ d: @escaping @Sendable (Float, Float, Float) -> Float
  ) {
    table[OpKey(op)] = BackwardRule { ctx in
      [zipped3(try ctx.forward.floatInput(0), ctx.outputs[0], ctx.outputGrad(), d)]
    }
  }

  /// `grad` (shaped like the output) summed to input `index`'s shape; nil when not needed.
  static func operandGrad(_ ctx: BackwardContext, _ index: Int, _ grad: Tensor) throws -> Tensor? {
    guard ctx.needs(index), let x = ctx.forward.inputs[index] else { return nil }
    return try sumToShape(grad, x.shape)
  }
}
