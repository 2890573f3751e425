import ModelGraph
import TensorCore

/// Backward of Resize / Upsample (nearest and linear): the forward's own per-axis geometry
/// (`ResizeOps.plan`) walked in reverse, each axis through the adjoint of its interpolation
/// (dx[i0] += (1 − w)·dy[o], dx[i1] += w·dy[o]). Nearest sends each output's gradient to the one
/// input it copied. roi, scales and sizes get no gradient.
enum ResizeBackward {
  static func register(into table: inout [OpKey: BackwardRule]) {
    table[OpKey("Resize")] = BackwardRule(nonDifferentiableInputs: [1, 2, 3]) { ctx in try resizeBackward(ctx) }
    table[OpKey("Upsample")] = BackwardRule(nonDifferentiableInputs: [1]) { ctx in try resizeBackward(ctx) }
  }

  static func resizeBackward(_ ctx: BackwardContext) throws -> [Tensor?] {
    let x = try ctx.forward.floatInput(0)
    let steps = try ResizeOps.plan(ctx.forward, shape: x.shape)
    var grad = ctx.outputGrad()
    for step in steps.reversed() {
      grad = ResizeOps.interpolateAdjoint(grad, axis: step.axis, taps: step.taps, length: x.shape[step.axis])
    }
    var grads = [Tensor?](repeating: nil, count: ctx.forward.inputCount)
    grads[0] = grad
    return grads
  }
}
