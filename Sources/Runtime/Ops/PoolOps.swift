import ModelGraph
import TensorCore

/// Pooling (ONNX spec): MaxPool, AveragePool (any spatial rank; 3-D and up in `ConvND`; pads, strides, dilations, ceil_mode,
/// count_include_pad), GlobalAveragePool, GlobalMaxPool (any rank ≥ 3).
enum PoolOps {
  static func register(into table: inout [OpKey: OpDefinition]) {
    table[OpKey("MaxPool")] = OpDefinition { ctx in
      if ctx.node.outputs.count > 1, !ctx.node.outputs[1].isEmpty {
        throw ctx.unsupported("Indices output", ctx.node.outputs[1])
      }
      guard try ctx.int("storage_order", default: 0) == 0 else { throw ctx.unsupported("storage_order", "1") }
      return [try pool(ctx, max: true)]
    }
    table[OpKey("AveragePool")] = OpDefinition { ctx in [try pool(ctx, max: false)] }
    table[OpKey("GlobalAveragePool")] = OpDefinition { ctx in [try global(ctx, max: false)] }
    table[OpKey("GlobalMaxPool")] = OpDefinition { ctx in [try global(ctx, max: true)] }
  }

  /// Y[n, c, oh, ow] = max / mean over the window of X[n, c] (padding excluded from max and, unless
  /// count_include_pad, from the mean's divisor).
  static func pool(_ ctx: OpContext, max isMax: Bool) throws -> Tensor {
    let x = try ctx.floatInput(0)
    guard x.rank >= 3 else {
      throw ctx.shapeError(expected: "X [N, C, spatial…]", found: "\(x.shape)")
    }
    guard let kernel = try ctx.ints("kernel_shape") else { throw ctx.unsupported("kernel_shape", "missing") }
    let ceilMode = try ctx.int("ceil_mode", default: 0) != 0
    let includePad = try ctx.int("count_include_pad", default: 0) != 0
    let win = try ConvWindow(ctx, spatial: Array(x.shape[2...]), kernel: kernel, ceilMode: ceilMode)
    if x.rank >= 5 { return ConvND.pool(x, win: win, max: isMax, includePad: includePad) }
    let planes = x.shape[0] * x.shape[1]
    let (h, w) = (win.input[0], win.input[1])
    let (oh, ow) = (win.output[0], win.output[1])
    var out = [Float](repeating: 0, count: planes * oh * ow)
    let xv = x.floats
    xv.withUnsafeBufferPointer { px in
      out.withUnsafeMutableBufferPointer { po in
        let (X, Y) = (SendableConstPointer(px.baseAddress!), SendablePointer(po.baseAddress!))
        ThreadPool.shared.parallelFor(planes) { p in
          let src = X.base + p * h * w
          let dst = Y.base + p * oh * ow
          for oy in 0..<oh {
            for ox in 0..<ow {
              var acc: Float = isMax ? -.infinity : 0
              var count = 0
              let padded = win.forEachTap2D(oy: oy, ox: ox) { t in
                let v = src[t]
                if isMax { acc = Swift.max(acc, v) } else { acc += v }
                count += 1
              }
              let divisor = includePad ? count + padded : count
              dst[oy * ow + ox] = isMax ? acc : acc / Float(Swift.max(divisor, 1))
            }
          }
        }
      }
    }
    return Tensor(shape: Array(x.shape[..<2]) + Array(win.output.suffix(x.rank - 2)), floats: out)
  }

  /// Mean or max over all spatial positions: [N, C, …] → [N, C, 1, …, 1].
  static func global(_ ctx: OpContext, max isMax: Bool) throws -> Tensor {
    let x = try ctx.floatInput(0)
    guard x.rank >= 3 else { throw ctx.shapeError(expected: "X [N, C, spatial…]", found: "\(x.shape)") }
    let planes = x.shape[0] * x.shape[1]
    let size = x.shape[2...].reduce(1, *)
    let xv = x.floats
    var out = [Float](repeating: 0, count: planes)
    for p in 0..<planes {
      let row = xv[(p * size)..<((p + 1) * size)]
      out[p] = isMax ? (row.max() ?? 0) : row.reduce(0, +) / Float(size)
    }
    return Tensor(shape: Array(x.shape[..<2]) + [Int](repeating: 1, count: x.rank - 2), floats: out)
  }
}

extension ConvWindow {
  /// Calls `body` with the in-plane index `iy · width + ix` of every tap of the 2-D window at output
  /// (`oy`, `ox`) that falls inside the input, and returns how many taps fell in the explicit padding
  /// (not the ceil_mode overhang), which count_include_pad adds to a mean's divisor. Pooling's
  /// forward and backward walk their windows through this one loop.
  @inline(__always)
  func forEachTap2D(oy: Int, ox: Int, _ body: (Int) -> Void) -> Int {
    let (h, w) = (input[0], input[1])
    var padded = 0
    for i in 0..<kernel[0] {
      let iy = oy * strides[0] - padsBegin[0] + i * dilations[0]
      for j in 0..<kernel[1] {
        let ix = ox * strides[1] - padsBegin[1] + j * dilations[1]
        guard iy >= 0, iy < h, ix >= 0, ix < w else {
          if iy < h + padsEnd[0], ix < w + padsEnd[1] { padded += 1 }
          continue
        }
        body(iy * w + ix)
      }
    }
    return padded
  }
}
