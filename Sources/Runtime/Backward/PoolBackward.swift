import ModelGraph
import TensorCore

/// Backward of MaxPool, AveragePool (1-D and 2-D, the node's `ConvWindow` geometry, ceil_mode,
/// count_include_pad) and GlobalAveragePool / GlobalMaxPool.
/// MaxPool routes each output's gradient to the first window element equal to the output (the
/// element the forward's max picked); AveragePool spreads it over the window by the forward's divisor.
enum PoolBackward {
  static func register(into table: inout [OpKey: BackwardRule]) {
    table[OpKey("MaxPool")] = BackwardRule { ctx in [try windowBackward(ctx, max: true)] }
    table[OpKey("AveragePool")] = BackwardRule { ctx in [try windowBackward(ctx, max: false)] }
    table[OpKey("GlobalAveragePool")] = BackwardRule { ctx in [try globalBackward(ctx, max: false)] }
    table[OpKey("GlobalMaxPool")] = BackwardRule { ctx in [try globalBackward(ctx, max: true)] }
  }

  static func windowBackward(_ ctx: BackwardContext, max isMax: Bool) throws -> Tensor {
    let x = try ctx.forward.floatInput(0)
    guard x.rank == 3 || x.rank == 4, let kernel = try ctx.forward.ints("kernel_shape") else {
      throw ctx.forward.unsupported("input rank", "\(x.rank) (training supports 1-D and 2-D pooling)")
    }
    let ceilMode = try ctx.forward.int("ceil_mode", default: 0) != 0
    let includePad = try ctx.forward.int("count_include_pad", default: 0) != 0
    let win = try ConvWindow(ctx.forward, spatial: Array(x.shape[2...]), kernel: kernel, ceilMode: ceilMode)
    let planes = x.shape[0] * x.shape[1]
    let (h, w, oh, ow) = (win.input[0], win.input[1], win.output[0], win.output[1])
    let xv = x.floats, yv = ctx.outputs[0].floats, dy = ctx.outputGrad().floats
    var dx = [Float](repeating: 0, count: xv.count)
    xv.withUnsafeBufferPointer { X in
      dx.withUnsafeMutableBufferPointer { DX in
        for plane in 0..<planes {
          let base = plane * h * w
          for oy in 0..<oh {
            for ox in 0..<ow {
              let o = plane * oh * ow + oy * ow + ox
              if isMax {
                var hit = -1
                _ = win.forEachTap2D(oy: oy, ox: ox) { t in
                  if hit < 0, X[base + t] == yv[o] { hit = base + t }
                }
                if hit >= 0 { DX[hit] += dy[o] }
              } else {
                var count = 0
                let padded = win.forEachTap2D(oy: oy, ox: ox) { _ in count += 1 }
                let share = dy[o] / Float(Swift.max(includePad ? count + padded : count, 1))
                _ = win.forEachTap2D(oy: oy, ox: ox) { t in DX[base + t] += share }
              }
            }
          }
        }
      }
    }
    return Tensor(shape: x.shape, floats: dx)
  }

  /// Mean: dy / size to every position; max: dy to the first position holding the maximum.
  static func globalBackward(_ ctx: BackwardContext, max isMax: Bool) throws -> Tensor {
    let x = try ctx.forward.floatInput(0)
    let planes = x.shape[0] * x.shape[1], size = x.count / Swift.max(planes, 1)
    let xv = x.floats, yv = ctx.outputs[0].floats, dy = ctx.outputGrad().floats
    var dx = [Float](repeating: 0, count: xv.count)
    for p in 0..<planes {
      if isMax {
        if let hit = (0..<size).first(where: { xv[p * size + $0] == yv[p] }) { dx[p * size + hit] = dy[p] }
      } else {
        let share = dy[p] / Float(size)
        for i in 0..<size { dx[p * size + i] = share }
      }
    }
    return Tensor(shape: x.shape, floats: dx)
  }
}
