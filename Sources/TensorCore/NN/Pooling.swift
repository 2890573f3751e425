// 2-D pooling over NCHW (ONNX MaxPool, AveragePool, GlobalAveragePool). Windows follow
// Conv2DGeometry: padding [top, left, bottom, right], optional dilation (max pool), ceilMode.
// Max pooling ignores padded positions. Average pooling divides by the count of real input elements
// (countIncludePad false) or by the window clipped to the padded extent (countIncludePad true,
// PyTorch's rule: a ceil-mode window hanging past the bottom/right padding is clipped).

public func maxPool2d(
  _ x: Tensor, kernel: [Int], stride: [Int]? = nil, padding: [Int] = [0, 0, 0, 0],
  dilation: [Int] = [1, 1], ceilMode: Bool = false
) throws -> Tensor {
  try pool(x, kernel, stride ?? kernel, padding, dilation, ceilMode, "maxPool2d") { g, plane, out in
    maxPoolPlane(g, plane, out)
  }
}

public func maxPool2dReference(
  _ x: Tensor, kernel: [Int], stride: [Int]? = nil, padding: [Int] = [0, 0, 0, 0],
  dilation: [Int] = [1, 1], ceilMode: Bool = false
) throws -> Tensor {
  try pool(x, kernel, stride ?? kernel, padding, dilation, ceilMode, "maxPool2d") { g, plane, out in
    for oy in 0..<g.outHeight {
      for ox in 0..<g.outWidth {
        var best = -Float.infinity
        for ky in 0..<g.kernelHeight {
          for kx in 0..<g.kernelWidth {
            let y = oy * g.strideH - g.padTop + ky * g.dilationH
            let xx = ox * g.strideW - g.padLeft + kx * g.dilationW
            if y >= 0, y < g.height, xx >= 0, xx < g.width { best = Swift.max(best, plane[y * g.width + xx]) }
          }
        }
        out[oy * g.outWidth + ox] = best
      }
    }
  }
}

public func avgPool2d(
  _ x: Tensor, kernel: [Int], stride: [Int]? = nil, padding: [Int] = [0, 0, 0, 0],
  countIncludePad: Bool = false, ceilMode: Bool = false
) throws -> Tensor {
  try avgPool2dReference(
    x, kernel: kernel, stride: stride, padding: padding, countIncludePad: countIncludePad,
    ceilMode: ceilMode)
}

public func avgPool2dReference(
  _ x: Tensor, kernel: [Int], stride: [Int]? = nil, padding: [Int] = [0, 0, 0, 0],
  countIncludePad: Bool = false, ceilMode: Bool = false
) throws -> Tensor {
  try pool(x, kernel, stride ?? kernel, padding, [1, 1], ceilMode, "avgPool2d") { g, plane, out in
    for oy in 0..<g.outHeight {
      for ox in 0..<g.outWidth {
        let y0 = oy * g.strideH - g.padTop, x0 = ox * g.strideW - g.padLeft
        let y1 = Swift.min(y0 + g.kernelHeight, g.height + g.padBottom)
        let x1 = Swift.min(x0 + g.kernelWidth, g.width + g.padRight)
        let padded = (y1 - y0) * (x1 - x0)
        var sum: Float = 0
        var real = 0
        for y in Swift.max(y0, 0)..<Swift.max(Swift.min(y1, g.height), Swift.max(y0, 0)) {
          for xx in Swift.max(x0, 0)..<Swift.max(Swift.min(x1, g.width), Swift.max(x0, 0)) {
            sum += plane[y * g.width + xx]
            real += 1
          }
        }
        let divisor = countIncludePad ? padded : real
        out[oy * g.outWidth + ox] = divisor > 0 ? sum / Float(divisor) : 0
      }
    }
  }
}

/// Mean over H·W per (n, c): [N, C, H, W] → [N, C, 1, 1] (any rank ≥ 3: all trailing axes).
public func globalAvgPool2d(_ x: Tensor) throws -> Tensor {
  guard x.rank >= 3, x.dtype == .float32 else {
    throw TensorError.shapeMismatch(
      operation: "globalAvgPool2d", expected: "float32 [N, C, H, W]", found: "\(x.dtype.rawValue) \(x.shape)")
  }
  return try x.reduceMean(axes: Array(2..<x.rank), keepDims: true)
}

public func globalAvgPool2dReference(_ x: Tensor) throws -> Tensor {
  try x.reduceReference(.mean, axes: Array(2..<Swift.max(x.rank, 3)), keepDims: true)
}

/// Runs `plane(geometry, input plane, output plane)` over every (n, c) plane, in parallel.
private func pool(
  _ x: Tensor, _ kernel: [Int], _ stride: [Int], _ padding: [Int], _ dilation: [Int], _ ceilMode: Bool,
  _ op: String, _ body: (Conv2DGeometry, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void
) throws -> Tensor {
  guard x.rank == 4, x.dtype == .float32 else {
    throw TensorError.shapeMismatch(
      operation: op, expected: "float32 [N, C, H, W]", found: "\(x.dtype.rawValue) \(x.shape)")
  }
  let g = try Conv2DGeometry(
    channels: 1, height: x.shape[2], width: x.shape[3], kernel: kernel, stride: stride,
    padding: padding, dilation: dilation, ceilMode: ceilMode, operation: op)
  let planes = x.shape[0] * x.shape[1]
  let (inSize, outSize) = (g.height * g.width, g.outHeight * g.outWidth)
  let input = x.floats
  var out = [Float](repeating: 0, count: planes * outSize)
  input.withUnsafeBufferPointer { src in
    out.withUnsafeMutableBufferPointer { dst in
      guard planes > 0 else { return }
      let (s, d) = (SendableConstPointer(src.baseAddress!), SendablePointer(dst.baseAddress!))
      if planes * inSize >= parallelThreshold {
        ThreadPool.shared.parallelFor(planes) { i in body(g, s.base + i * inSize, d.base + i * outSize) }
      } else {
        for i in 0..<planes { body(g, s.base + i * inSize, d.base + i * outSize) }
      }
    }
  }
  return Tensor(shape: [x.shape[0], x.shape[1], g.outHeight, g.outWidth], floats: out)
}

/// Max pooling of one plane; the window range is clipped once per output instead of tested per tap.
private func maxPoolPlane(
  _ g: Conv2DGeometry, _ plane: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>
) {
  for oy in 0..<g.outHeight {
    let y0 = oy * g.strideH - g.padTop
    let kyStart = y0 >= 0 ? 0 : (-y0 + g.dilationH - 1) / g.dilationH
    let kyEnd = Swift.min(g.kernelHeight, (g.height - y0 + g.dilationH - 1) / g.dilationH)
    for ox in 0..<g.outWidth {
      let x0 = ox * g.strideW - g.padLeft
      let kxStart = x0 >= 0 ? 0 : (-x0 + g.dilationW - 1) / g.dilationW
      let kxEnd = Swift.min(g.kernelWidth, (g.width - x0 + g.dilationW - 1) / g.dilationW)
      var best = -Float.infinity
      if kyStart < kyEnd && kxStart < kxEnd {
        for ky in kyStart..<kyEnd {
          let row = plane + (y0 + ky * g.dilationH) * g.width + x0
          for kx in kxStart..<kxEnd { best = Swift.max(best, row[kx * g.dilationW]) }
        }
      }
      out[oy * g.outWidth + ox] = best
    }
  }
}
