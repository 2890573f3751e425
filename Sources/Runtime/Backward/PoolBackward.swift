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
    let walk = WindowWalk2D(win)
    let planes = x.shape[0] * x.shape[1]
    let (inSize, outSize) = (walk.height * walk.width, walk.outHeight * walk.outWidth)
    let xv = x.floats, yv = ctx.outputs[0].floats, dy = ctx.outputGrad().floats
    precondition(
      yv.count == planes * outSize && dy.count == yv.count,
      "pool backward: output \(yv.count), dy \(dy.count)")
    var dx = [Float](repeating: 0, count: xv.count)
    guard inSize > 0, outSize > 0 else { return Tensor(shape: x.shape, floats: dx) }
    xv.withUnsafeBufferPointer { X in
      yv.withUnsafeBufferPointer { Y in
        dy.withUnsafeBufferPointer { DY in
          dx.withUnsafeMutableBufferPointer { DX in
            let (xs, ys, dys) = (
              SendableConstPointer(X.baseAddress!), SendableConstPointer(Y.baseAddress!),
              SendableConstPointer(DY.baseAddress!)
            )
            let dxs = SendablePointer(DX.baseAddress!)
            // A window never leaves its plane, so planes are independent.
            ThreadPool.shared.parallelFor(planes) { p in
              let (x, dx) = (xs.base + p * inSize, dxs.base + p * inSize)
              let (y, dy) = (ys.base + p * outSize, dys.base + p * outSize)
              if isMax {
                maxPlaneBackward(walk, x, y, dy, dx)
              } else {
                averagePlaneBackward(walk, dy, dx, includePad: includePad)
              }
            }
          }
        }
      }
    }
    return Tensor(shape: x.shape, floats: dx)
  }

  /// dx[first tap equal to y[o]] += dy[o] over one plane (the tap the forward's max picked).
  static func maxPlaneBackward(
    _ walk: WindowWalk2D, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>
  ) {
    for oy in 0..<walk.outHeight {
      for ox in 0..<walk.outWidth {
        let o = oy &* walk.outWidth &+ ox
        let target = y[o]
        var hit = -1
        _ = walk.forEachTap(oy: oy, ox: ox) { t in
          if hit < 0, x[t] == target { hit = t }
        }
        if hit >= 0 { dx[hit] += dy[o] }
      }
    }
  }

  /// dx[t] += dy[o] / divisor for every tap t of window o over one plane (the forward's divisor).
  static func averagePlaneBackward(
    _ walk: WindowWalk2D, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, includePad: Bool
  ) {
    for oy in 0..<walk.outHeight {
      for ox in 0..<walk.outWidth {
        var count = 0
        let padded = walk.forEachTap(oy: oy, ox: ox) { _ in count &+= 1 }
        let share = dy[oy &* walk.outWidth &+ ox] / Float(Swift.max(includePad ? count + padded : count, 1))
        _ = walk.forEachTap(oy: oy, ox: ox) { dx[$0] += share }
      }
    }
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
