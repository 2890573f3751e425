import ModelGraph
import TensorCore

/// Backward of Conv (ONNX Conv, 1-D and 2-D, grouped/depthwise, strided, dilated, padded) by im2col
/// and GEMM per image and group, with TensorCore's `im2col`/`col2im` and the node's `ConvWindow`
/// (the geometry the forward kernel uses).
///
/// With col_g = im2col(x[n, group g]) [C/G·K, P] (K kernel taps, P output pixels):
///   dW_g += dy[n, g] · col_gᵀ        ([M/G, C/G·K])
///   dx[n, g] = col2im(W_gᵀ · dy[n, g])
///   dB = Σ_{n,p} dy
enum ConvBackward {
  static func register(into table: inout [OpKey: BackwardRule]) {
    table[OpKey("Conv")] = BackwardRule { ctx in try convBackward(ctx) }
  }

  static func convBackward(_ ctx: BackwardContext) throws -> [Tensor?] {
    let x = try ctx.forward.floatInput(0), w = try ctx.forward.floatInput(1)
    guard x.rank == 3 || x.rank == 4 else {
      throw ctx.forward.unsupported("input rank", "\(x.rank) (training supports 1-D and 2-D Conv)")
    }
    let group = try ctx.forward.int("group", default: 1)
    let kernel = try ctx.forward.ints("kernel_shape") ?? Array(w.shape[2...])
    let win = try ConvWindow(ctx.forward, spatial: Array(x.shape[2...]), kernel: kernel)
    let (batch, channels, m) = (x.shape[0], x.shape[1], w.shape[0])
    let (cg, mg) = (channels / group, m / group)
    let g = try Conv2DGeometry(
      channels: cg, height: win.input[0], width: win.input[1], kernel: win.kernel, stride: win.strides,
      padding: [win.padsBegin[0], win.padsBegin[1], win.padsEnd[0], win.padsEnd[1]], dilation: win.dilations)
    let (plane, p, rows) = (g.height * g.width, g.columnCols, g.columnRows)
    let xv = x.floats, wv = w.floats, dy = ctx.outputGrad().floats
    var dx = [Float](repeating: 0, count: ctx.needs(0) ? xv.count : 0)
    var dw = [Float](repeating: 0, count: ctx.needs(1) ? wv.count : 0)
    var col = [Float](repeating: 0, count: rows * p)
    var dcol = [Float](repeating: 0, count: ctx.needs(0) ? rows * p : 0)
    for n in 0..<batch {
      for gi in 0..<group {
        let xOffset = (n * channels + gi * cg) * plane
        let yOffset = (n * m + gi * mg) * p
        let wOffset = gi * mg * rows
        if ctx.needs(1) {
          xv.withUnsafeBufferPointer { src in
            col.withUnsafeMutableBufferPointer { im2col(g, image: src.baseAddress! + xOffset, col: $0.baseAddress!) }
          }
          LinearBackward.product(
            &dw, wOffset, transA: false, transB: true, m: mg, n: rows, k: p, dy, yOffset, lda: p, col, ldb: p, beta: 1,
            ldc: rows)
        }
        if ctx.needs(0) {
          LinearBackward.product(
            &dcol, transA: true, transB: false, m: rows, n: p, k: mg, wv, wOffset, lda: rows, dy, yOffset, ldb: p, ldc: p)
          dcol.withUnsafeBufferPointer { src in
            dx.withUnsafeMutableBufferPointer { col2im(g, col: src.baseAddress!, image: $0.baseAddress! + xOffset) }
          }
        }
      }
    }
    var db: Tensor? = nil
    if ctx.needs(2) {
      var sums = [Float](repeating: 0, count: m)
      for n in 0..<batch {
        for c in 0..<m {
          var s: Float = 0
          for q in 0..<p { s += dy[(n * m + c) * p + q] }
          sums[c] += s
        }
      }
      db = Tensor(shape: [m], floats: sums)
    }
    return [
      ctx.needs(0) ? Tensor(shape: x.shape, floats: dx) : nil, ctx.needs(1) ? Tensor(shape: w.shape, floats: dw) : nil, db,
    ]
  }
}
