// 2-D convolution (ONNX Conv, NCHW): input [N, C, H, W], weight [O, C/groups, KH, KW], bias [O]?
//   out[n, o, oy, ox] = bias[o] + Σ_{c ∈ group(o), ky, kx} W[o, c, ky, kx] · x[n, c, oy·sh − pt + ky·dh,
//                                                                              ox·sw − pl + kx·dw]
// padding is [top, left, bottom, right]. Fast path: per image and group, im2col + gemm (1×1 stride-1
// unpadded convolutions skip im2col); depthwise convolutions (C/groups = 1) use a direct kernel
// (Conv2D+Depthwise.swift). Many small (image, group) GEMMs run in parallel, one thread each; a few
// large ones use gemm's own threads.

public func conv2d(
  _ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: [Int] = [1, 1],
  padding: [Int] = [0, 0, 0, 0], dilation: [Int] = [1, 1], groups: Int = 1
) throws -> Tensor {
  let p = try ConvProblem(input, weight, bias, stride, padding, dilation, groups)
  let g = p.geometry
  let outShape = [p.batch, p.outChannels, g.outHeight, g.outWidth]
  if g.channels == 1 && groups > 1 {
    return Tensor(shape: outShape, floats: depthwiseConv2d(p, input.floats, weight.floats, bias?.floats))
  }
  let og = p.outChannels / groups
  let spatial = g.outHeight * g.outWidth
  let k = g.columnRows
  let direct =
    g.kernelHeight == 1 && g.kernelWidth == 1 && g.strideH == 1 && g.strideW == 1
    && g.padTop == 0 && g.padLeft == 0 && g.padBottom == 0 && g.padRight == 0
  var out = [Float](repeating: 0, count: p.batch * p.outChannels * spatial)
  let (x, w, b) = (input.floats, weight.floats, bias?.floats)
  x.withUnsafeBufferPointer { xb in
    w.withUnsafeBufferPointer { wb in
      out.withUnsafeMutableBufferPointer { ob in
        guard ob.count > 0 else { return }
        let (xs, ws, os) = (
          SendableConstPointer(xb.baseAddress!), SendableConstPointer(wb.baseAddress!),
          SendablePointer(ob.baseAddress!)
        )
        // One task = one (image, group) GEMM: W_g [og, k] × col [k, spatial] → out [og, spatial].
        let task = { (index: Int, threads: Int, col: UnsafeMutablePointer<Float>?) in
          let (n, group) = (index / groups, index % groups)
          let image = xs.base + (n * p.inChannels + group * g.channels) * p.height * p.width
          var columns = image
          if let col, !direct {
            im2col(g, image: image, col: col)
            columns = UnsafePointer(col)
          }
          let c = os.base + (n * p.outChannels + group * og) * spatial
          gemm(
            transA: false, transB: false, m: og, n: spatial, k: k, alpha: 1, a: ws.base + group * og * k,
            lda: k, b: columns, ldb: spatial, beta: 0, c: c, ldc: spatial, threads: threads)
          if let b {
            for o in 0..<og { addBias(c + o * spatial, b[group * og + o], spatial) }
          }
        }
        let tasks = p.batch * groups
        let threads = ThreadPool.shared.threadCount
        let colCount = direct ? 0 : k * spatial
        if tasks > 1 && threads > 1 && (tasks >= 4 * threads || og * spatial * k < 1 << 21) {
          ThreadPool.shared.parallelFor(tasks) { index in
            let col = direct ? nil : UnsafeMutablePointer<Float>.allocate(capacity: colCount)
            defer { col?.deallocate() }
            task(index, 1, col)
          }
        } else {
          let col = direct ? nil : UnsafeMutablePointer<Float>.allocate(capacity: colCount)
          defer { col?.deallocate() }
          for index in 0..<tasks { task(index, .max, col) }
        }
      }
    }
  }
  return Tensor(shape: outShape, floats: out)
}

/// The scalar definition: seven nested loops straight from the formula above.
public func conv2dReference(
  _ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: [Int] = [1, 1],
  padding: [Int] = [0, 0, 0, 0], dilation: [Int] = [1, 1], groups: Int = 1
) throws -> Tensor {
  let p = try ConvProblem(input, weight, bias, stride, padding, dilation, groups)
  let g = p.geometry
  let (cg, og) = (p.inChannels / groups, p.outChannels / groups)
  let (x, w) = (input.floats, weight.floats)
  let bs = bias?.floats
  var out = [Float](repeating: 0, count: p.batch * p.outChannels * g.outHeight * g.outWidth)
  var index = 0
  for n in 0..<p.batch {
    for o in 0..<p.outChannels {
      let group = o / og
      for oy in 0..<g.outHeight {
        for ox in 0..<g.outWidth {
          var sum = Double(bs?[o] ?? 0)
          for c in 0..<cg {
            for ky in 0..<g.kernelHeight {
              let y = oy * g.strideH - g.padTop + ky * g.dilationH
              if y < 0 || y >= p.height { continue }
              for kx in 0..<g.kernelWidth {
                let xx = ox * g.strideW - g.padLeft + kx * g.dilationW
                if xx < 0 || xx >= p.width { continue }
                let xv = x[((n * p.inChannels + group * cg + c) * p.height + y) * p.width + xx]
                let wv = w[((o * cg + c) * g.kernelHeight + ky) * g.kernelWidth + kx]
                sum += Double(xv) * Double(wv)
              }
            }
          }
          out[index] = Float(sum)
          index += 1
        }
      }
    }
  }
  return Tensor(shape: [p.batch, p.outChannels, g.outHeight, g.outWidth], floats: out)
}

/// p[0..<n] += b
@inline(__always)
func addBias(_ p: UnsafeMutablePointer<Float>, _ b: Float, _ n: Int) {
  let vb = SIMD16<Float>(repeating: b)
  var i = 0
  while i + 16 <= n {
    let v = UnsafeMutableRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
    UnsafeMutableRawPointer(p + i).storeBytes(of: v + vb, as: SIMD16<Float>.self)
    i += 16
  }
  while i < n {
    p[i] += b
    i += 1
  }
}

/// Validated shapes of one convolution call.
struct ConvProblem {
  let batch, inChannels, height, width, outChannels: Int
  let geometry: Conv2DGeometry

  init(
    _ input: Tensor, _ weight: Tensor, _ bias: Tensor?, _ stride: [Int], _ padding: [Int],
    _ dilation: [Int], _ groups: Int
  ) throws {
    guard input.rank == 4, weight.rank == 4, input.dtype == .float32, weight.dtype == .float32 else {
      throw TensorError.shapeMismatch(
        operation: "conv2d", expected: "float32 input [N, C, H, W] and weight [O, C/groups, KH, KW]",
        found: "\(input.dtype.rawValue) \(input.shape), \(weight.dtype.rawValue) \(weight.shape)")
    }
    (batch, inChannels, height, width) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
    outChannels = weight.shape[0]
    guard groups > 0, inChannels % groups == 0, outChannels % groups == 0,
      weight.shape[1] == inChannels / groups
    else {
      throw TensorError.shapeMismatch(
        operation: "conv2d",
        expected: "weight [O, C/groups = \(groups > 0 ? inChannels / groups : 0), KH, KW] with O and C "
          + "divisible by groups = \(groups) (input \(input.shape))",
        found: "\(weight.shape)")
    }
    if let bias, bias.count != outChannels || bias.dtype != .float32 {
      throw TensorError.shapeMismatch(
        operation: "conv2d", expected: "float32 bias [\(outChannels)]",
        found: "\(bias.dtype.rawValue) \(bias.shape)")
    }
    geometry = try Conv2DGeometry(
      channels: inChannels / groups, height: height, width: width,
      kernel: [weight.shape[2], weight.shape[3]], stride: stride, padding: padding, dilation: dilation)
  }
}
