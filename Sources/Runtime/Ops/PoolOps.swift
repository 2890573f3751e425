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
    let walk = WindowWalk2D(win)
    let planes = x.shape[0] * x.shape[1]
    let (inSize, outSize) = (walk.height * walk.width, walk.outHeight * walk.outWidth)
    var out = [Float](repeating: 0, count: planes * outSize)
    let xv = inSize > 0 ? x.floats : [0]  // an empty input plane has no tap inside: nothing is read
    xv.withUnsafeBufferPointer { px in
      out.withUnsafeMutableBufferPointer { po in
        guard po.count > 0 else { return }
        let (X, Y) = (SendableConstPointer(px.baseAddress!), SendablePointer(po.baseAddress!))
        ThreadPool.shared.parallelFor(planes) { p in
          let (src, dst) = (X.base + p * inSize, Y.base + p * outSize)
          if isMax {
            poolPlane(
              walk, src, dst, initial: -.infinity, { Swift.max($0, $1) }, finish: { acc, _, _ in acc })
          } else {
            poolPlane(walk, src, dst, initial: 0, { $0 + $1 }) { acc, inside, padded in
              acc / Float(Swift.max(includePad ? inside + padded : inside, 1))
            }
          }
        }
      }
    }
    return Tensor(shape: Array(x.shape[..<2]) + Array(win.output.suffix(x.rank - 2)), floats: out)
  }

  /// One [H, W] plane: dst[oy·OW + ox] = finish(fold of `combine` from `initial` over the window's taps
  /// inside the input in row-major order, taps inside, taps in the explicit padding). Max: −∞ for a
  /// window wholly in padding; mean: the divisor is chosen by `finish`.
  @inline(__always)
  static func poolPlane(
    _ walk: WindowWalk2D, _ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, initial: Float,
    _ combine: (Float, Float) -> Float, finish: (_ acc: Float, _ inside: Int, _ padded: Int) -> Float
  ) {
    let taps = walk.kernelH &* walk.kernelW
    for oy in 0..<walk.outHeight {
      let row = dst + oy &* walk.outWidth
      let fast = walk.interiorRows.contains(oy) ? walk.interiorCols : 0..<0
      for ox in 0..<walk.outWidth where !fast.contains(ox) {  // windows that reach outside: checked walk
        var acc = initial
        var inside = 0
        let padded = walk.forEachCheckedTap(oy: oy, ox: ox) {
          acc = combine(acc, src[$0])
          inside &+= 1
        }
        row[ox] = finish(acc, inside, padded)
      }
      guard !fast.isEmpty else { continue }
      // Fast path, tap-major across the row's interior windows: all of them take tap (i, j), then
      // (i, j + 1), … Each output still folds its own taps in row-major order (the same result as the
      // per-window walk), with no bounds test, and neighbouring outputs no longer wait on each other.
      let out = row + fast.lowerBound
      let (count, step) = (fast.count, walk.strideW)
      for k in 0..<count { out[k] = initial }
      walk.forEachInteriorTap(oy: oy, ox: fast.lowerBound) { t in
        let tap = src + t  // this tap of window fast.lowerBound; window + k reads tap[k · strideW]
        for k in 0..<count { out[k] = combine(out[k], tap[k &* step]) }
      }
      for k in 0..<count { out[k] = finish(out[k], taps, 0) }
    }
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

/// The window walk of 2-D pooling (forward and backward), read off a `ConvWindow` (the one place
/// kernel, strides, dilations, pads and output size are worked out) as plain integers, plus the
/// output rows and columns whose windows lie wholly inside the input. `forEachTap` walks those
/// windows with no bounds test per tap (the fast path) and every other window with one.
struct WindowWalk2D {
  let height, width, outHeight, outWidth: Int
  let kernelH, kernelW, strideH, strideW, dilationH, dilationW: Int
  let padTop, padLeft, padBottom, padRight: Int
  /// Output rows (oy) and columns (ox) whose windows touch neither padding nor the ceil_mode
  /// overhang: oy·sh − pt ≥ 0 and oy·sh − pt + (kh − 1)·dh ≤ h − 1 (likewise across).
  let interiorRows: Range<Int>
  let interiorCols: Range<Int>

  init(_ win: ConvWindow) {
    (height, width, outHeight, outWidth) = (win.input[0], win.input[1], win.output[0], win.output[1])
    (kernelH, kernelW) = (win.kernel[0], win.kernel[1])
    (strideH, strideW, dilationH, dilationW) = (
      win.strides[0], win.strides[1], win.dilations[0], win.dilations[1]
    )
    (padTop, padLeft, padBottom, padRight) = (
      win.padsBegin[0], win.padsBegin[1], win.padsEnd[0], win.padsEnd[1]
    )
    interiorRows = Self.interior(
      size: height, outputs: outHeight, kernel: kernelH, stride: strideH, dilation: dilationH, pad: padTop)
    interiorCols = Self.interior(
      size: width, outputs: outWidth, kernel: kernelW, stride: strideW, dilation: dilationW, pad: padLeft)
  }

  /// The outputs o in 0..<outputs with 0 ≤ o·stride − pad and o·stride − pad + (kernel − 1)·dilation < size.
  static func interior(size: Int, outputs: Int, kernel: Int, stride: Int, dilation: Int, pad: Int) -> Range<
    Int
  > {
    let first = Swift.min((pad + stride - 1) / stride, outputs)
    let lastStart = size - 1 - (kernel - 1) * dilation + pad  // the largest o·stride allowed
    let end = lastStart < 0 ? 0 : Swift.min(lastStart / stride + 1, outputs)
    return first..<Swift.max(first, end)
  }

  /// Calls `body` with the in-plane index `iy · width + ix` of every tap of the window at output
  /// (`oy`, `ox`) that falls inside the input, row by row, and returns how many taps fell in the
  /// explicit padding (not the ceil_mode overhang), which count_include_pad adds to a mean's divisor.
  /// Pooling's forward and backward walk their windows through this one loop.
  @inline(__always)
  func forEachTap(oy: Int, ox: Int, _ body: (Int) -> Void) -> Int {
    guard interiorRows.contains(oy), interiorCols.contains(ox) else {
      return forEachCheckedTap(oy: oy, ox: ox, body)
    }
    forEachInteriorTap(oy: oy, ox: ox, body)
    return 0
  }

  /// The fast path: the taps of a window wholly inside the input (`oy` in `interiorRows`, `ox` in
  /// `interiorCols`), row by row, each a plain offset from the window's corner.
  @inline(__always)
  func forEachInteriorTap(oy: Int, ox: Int, _ body: (Int) -> Void) {
    var row = (oy &* strideH &- padTop) &* width &+ (ox &* strideW &- padLeft)
    let rowStep = dilationH &* width
    for _ in 0..<kernelH {
      var t = row
      for _ in 0..<kernelW {
        body(t)
        t &+= dilationW
      }
      row &+= rowStep
    }
  }

  /// The general walk, for any window: each tap is tested against the input's bounds.
  @inline(__always)
  func forEachCheckedTap(oy: Int, ox: Int, _ body: (Int) -> Void) -> Int {
    var padded = 0
    for i in 0..<kernelH {
      let iy = oy * strideH - padTop + i * dilationH
      for j in 0..<kernelW {
        let ix = ox * strideW - padLeft + j * dilationW
        guard iy >= 0, iy < height, ix >= 0, ix < width else {
          if iy < height + padBottom, ix < width + padRight { padded += 1 }
          continue
        }
        body(iy * width + ix)
      }
    }
    return padded
  }
}
