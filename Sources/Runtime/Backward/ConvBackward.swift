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

  /// At most this many runs of images go in parallel (each holds its own dW).
  static let maxSlices = 8

  static func convBackward(_ ctx: BackwardContext) throws -> [Tensor?] {
    let x = try ctx.forward.floatInput(0), w = try ctx.forward.floatInput(1)
    guard x.rank == 3 || x.rank == 4 else {
      throw ctx.forward.unsupported("input rank", "\(x.rank) (training supports 1-D and 2-D Conv)")
    }
    let group = try ctx.forward.int("group", default: 1)
    let kernel = try ctx.forward.ints("kernel_shape") ?? Array(w.shape[2...])
    let win = try ConvWindow(ctx.forward, spatial: Array(x.shape[2...]), kernel: kernel)
    let (batch, channels, m) = (x.shape[0], x.shape[1], w.shape[0])
    let g = try Conv2DGeometry(
      channels: channels / group, height: win.input[0], width: win.input[1], kernel: win.kernel,
      stride: win.strides,
      padding: [win.padsBegin[0], win.padsBegin[1], win.padsEnd[0], win.padsEnd[1]], dilation: win.dilations)
    let p = g.columnCols
    let xv = x.floats, wv = w.floats, dy = ctx.outputGrad().floats
    let (needsX, needsW) = (ctx.needs(0), ctx.needs(1))
    // The batch is cut into `slices` runs of images that go in parallel, each accumulating its own
    // dW, summed in slice order afterwards. The count depends only on the shapes, not on the thread
    // count, so the gradient is the same on any number of threads.
    let slices = Swift.max(1, Swift.min(batch, maxSlices, (1 << 22) / Swift.max(wv.count, 1)))
    var dx = [Float](repeating: 0, count: needsX ? xv.count : 0)
    var dwSlices = [Float](repeating: 0, count: needsW ? slices * wv.count : 0)
    if (needsX || needsW) && !xv.isEmpty && !wv.isEmpty && !dy.isEmpty {
      let shape = Shape(g: g, group: group, channels: channels, m: m)
      xv.withUnsafeBufferPointer { X in
        wv.withUnsafeBufferPointer { W in
          dy.withUnsafeBufferPointer { DY in
            dx.withUnsafeMutableBufferPointer { DX in
              dwSlices.withUnsafeMutableBufferPointer { DW in
                let (x, w) = (SendableConstPointer(X.baseAddress!), SendableConstPointer(W.baseAddress!))
                let dy = SendableConstPointer(DY.baseAddress!)
                // (An empty array may still hand out a base address: the flags decide.)
                let dx = needsX ? DX.baseAddress.map(SendablePointer.init) : nil
                let dw = needsW ? DW.baseAddress.map(SendablePointer.init) : nil
                ThreadPool.shared.parallelFor(slices) { slice in
                  backward(
                    shape, images: (batch * slice / slices)..<(batch * (slice + 1) / slices), x: x.base,
                    w: w.base,
                    dy: dy.base, dx: dx?.base, dw: dw.map { $0.base + slice * wv.count })
                }
              }
            }
          }
        }
      }
    }
    var dw = [Float]()
    if needsW {
      dw = Array(dwSlices[0..<wv.count])
      for slice in 1..<slices {
        let base = slice * wv.count
        for i in 0..<dw.count { dw[i] += dwSlices[base + i] }
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
      ctx.needs(0) ? Tensor(shape: x.shape, floats: dx) : nil,
      ctx.needs(1) ? Tensor(shape: w.shape, floats: dw) : nil, db,
    ]
  }

  /// One convolution's sizes, for `backward(_:images:…)`: per group C/G input and M/G output channels.
  struct Shape {
    let g: Conv2DGeometry  // one group's im2col geometry (C/G channels)
    let group, channels, m: Int
  }

  /// dW += Σ_{n ∈ images, g} dy[n, g] · im2col(x[n, g])ᵀ and dx[n, g] = col2im(W_gᵀ · dy[n, g]) for a run of
  /// images, on the calling thread (nil `dx` / `dw`: not wanted). x [N, C, H, W], w [M, C/G, KH, KW],
  /// dy [N, M, P].
  static func backward(
    _ s: Shape, images: Range<Int>, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
    dy: UnsafePointer<Float>,
    dx: UnsafeMutablePointer<Float>?, dw: UnsafeMutablePointer<Float>?
  ) {
    let (plane, p, rows) = (s.g.height * s.g.width, s.g.columnCols, s.g.columnRows)
    let (cg, mg) = (s.channels / s.group, s.m / s.group)
    let col = UnsafeMutablePointer<Float>.allocate(capacity: rows * p)
    defer { col.deallocate() }
    for n in images {
      for gi in 0..<s.group {
        let xOffset = (n * s.channels + gi * cg) * plane
        let dyg = dy + (n * s.m + gi * mg) * p  // dy[n, group gi]: [M/G, P]
        let wg = w + gi * mg * rows  // W_g: [M/G, C/G·K]
        if let dw {  // dW_g += dy_g · colᵀ
          im2col(s.g, image: x + xOffset, col: col)
          gemm(
            transA: false, transB: true, m: mg, n: rows, k: p, alpha: 1, a: dyg, lda: p, b: col, ldb: p,
            beta: 1,
            c: dw + gi * mg * rows, ldc: rows)
        }
        if let dx {  // dx_g = col2im(W_gᵀ · dy_g)
          gemm(
            transA: true, transB: false, m: rows, n: p, k: mg, alpha: 1, a: wg, lda: rows, b: dyg, ldb: p,
            beta: 0,
            c: col, ldc: p)
          col2im(s.g, col: col, image: dx + xOffset)
        }
      }
    }
  }
}
