// im2col / col2im for 2-D convolution (Chellapilla et al. 2006): a convolution becomes one GEMM,
//   out[o, oy·OW + ox] = Σ_{c,ky,kx} W[o, (c·KH + ky)·KW + kx] · col[(c·KH + ky)·KW + kx, oy·OW + ox]
// where col[(c,ky,kx), (oy,ox)] = x[c, oy·sh − padTop + ky·dh, ox·sw − padLeft + kx·dw] (0 outside).

/// Shape of one 2-D convolution or pooling window sweep over a [channels, height, width] image.
public struct Conv2DGeometry: Sendable, Equatable {
  public var channels, height, width: Int
  public var kernelHeight, kernelWidth: Int
  public var strideH, strideW: Int
  /// top, left, bottom, right (ONNX `pads` order for 2-D: [y_begin, x_begin, y_end, x_end]).
  public var padTop, padLeft, padBottom, padRight: Int
  public var dilationH, dilationW: Int
  public var outHeight, outWidth: Int

  /// Throws on non-positive kernel/stride/dilation, negative pads or an empty output.
  /// `ceilMode` rounds the output size up (pooling), dropping a last window that starts in the padding.
  public init(
    channels: Int, height: Int, width: Int, kernel: [Int], stride: [Int] = [1, 1],
    padding: [Int] = [0, 0, 0, 0], dilation: [Int] = [1, 1], ceilMode: Bool = false,
    operation: String = "conv2d"
  ) throws {
    guard kernel.count == 2, stride.count == 2, padding.count == 4, dilation.count == 2,
      (kernel + stride + dilation).allSatisfy({ $0 > 0 }), padding.allSatisfy({ $0 >= 0 })
    else {
      throw TensorError.invalidArgument(
        operation: operation,
        message: "kernel \(kernel), stride \(stride), padding \(padding) (top, left, bottom, right), "
          + "dilation \(dilation): expected 2, 2, 4, 2 values, positive (padding ≥ 0)")
    }
    (self.channels, self.height, self.width) = (channels, height, width)
    (kernelHeight, kernelWidth) = (kernel[0], kernel[1])
    (strideH, strideW) = (stride[0], stride[1])
    (padTop, padLeft, padBottom, padRight) = (padding[0], padding[1], padding[2], padding[3])
    (dilationH, dilationW) = (dilation[0], dilation[1])
    func outSize(_ n: Int, _ pad0: Int, _ pad1: Int, _ k: Int, _ s: Int, _ d: Int) -> Int {
      let span = n + pad0 + pad1 - ((k - 1) * d + 1)
      if span < 0 { return 0 }
      var out = (ceilMode ? (span + s - 1) / s : span / s) + 1
      if ceilMode && (out - 1) * s >= n + pad0 { out -= 1 }
      return out
    }
    outHeight = outSize(height, padTop, padBottom, kernelHeight, strideH, dilationH)
    outWidth = outSize(width, padLeft, padRight, kernelWidth, strideW, dilationW)
    guard outHeight > 0, outWidth > 0 else {
      throw TensorError.shapeMismatch(
        operation: operation,
        expected:
          "input at least the dilated kernel \(kernel) (dilation \(dilation)) after padding \(padding)",
        found: "[\(channels), \(height), \(width)]")
    }
  }

  /// Rows of the column matrix: channels · kernelHeight · kernelWidth.
  public var columnRows: Int { channels * kernelHeight * kernelWidth }
  /// Columns of the column matrix: outHeight · outWidth.
  public var columnCols: Int { outHeight * outWidth }
}

/// col[columnRows, columnCols] ← image[channels, height, width]; padding reads as 0.
public func im2col(_ g: Conv2DGeometry, image: UnsafePointer<Float>, col: UnsafeMutablePointer<Float>) {
  let (oh, ow) = (g.outHeight, g.outWidth)
  for c in 0..<g.channels {
    let plane = image + c * g.height * g.width
    for ky in 0..<g.kernelHeight {
      for kx in 0..<g.kernelWidth {
        let row = col + ((c * g.kernelHeight + ky) * g.kernelWidth + kx) * oh * ow
        let xOffset = kx * g.dilationW - g.padLeft
        // ox range whose input column lies inside [0, width)
        let oxStart = Swift.min(ow, Swift.max(0, (-xOffset + g.strideW - 1) / g.strideW))
        let oxEnd = Swift.max(oxStart, Swift.min(ow, (g.width - xOffset + g.strideW - 1) / g.strideW))
        for oy in 0..<oh {
          let y = oy * g.strideH - g.padTop + ky * g.dilationH
          let dst = row + oy * ow
          if y < 0 || y >= g.height {
            dst.update(repeating: 0, count: ow)
            continue
          }
          let src = plane + y * g.width + xOffset
          dst.update(repeating: 0, count: oxStart)
          if g.strideW == 1 {
            (dst + oxStart).update(from: src + oxStart, count: oxEnd - oxStart)
          } else {
            for ox in oxStart..<oxEnd { dst[ox] = src[ox * g.strideW] }
          }
          (dst + oxEnd).update(repeating: 0, count: ow - oxEnd)
        }
      }
    }
  }
}

/// image[channels, height, width] += col[columnRows, columnCols] scattered back (the adjoint of im2col,
/// used for the input gradient of a convolution). `image` is accumulated into, not overwritten.
public func col2im(_ g: Conv2DGeometry, col: UnsafePointer<Float>, image: UnsafeMutablePointer<Float>) {
  let (oh, ow) = (g.outHeight, g.outWidth)
  for c in 0..<g.channels {
    let plane = image + c * g.height * g.width
    for ky in 0..<g.kernelHeight {
      for kx in 0..<g.kernelWidth {
        let row = col + ((c * g.kernelHeight + ky) * g.kernelWidth + kx) * oh * ow
        let xOffset = kx * g.dilationW - g.padLeft
        let oxStart = Swift.min(ow, Swift.max(0, (-xOffset + g.strideW - 1) / g.strideW))
        let oxEnd = Swift.max(oxStart, Swift.min(ow, (g.width - xOffset + g.strideW - 1) / g.strideW))
        for oy in 0..<oh {
          let y = oy * g.strideH - g.padTop + ky * g.dilationH
          if y < 0 || y >= g.height { continue }
          let src = row + oy * ow
          let dst = plane + y * g.width + xOffset
          for ox in oxStart..<oxEnd { dst[ox * g.strideW] += src[ox] }
        }
      }
    }
  }
}

/// Tensor form of im2col: image [channels, height, width] → [columnRows, columnCols].
public func im2col(_ image: Tensor, _ g: Conv2DGeometry) throws -> Tensor {
  guard image.shape == [g.channels, g.height, g.width], image.dtype == .float32 else {
    throw TensorError.shapeMismatch(
      operation: "im2col", expected: "float32 [\(g.channels), \(g.height), \(g.width)]",
      found: "\(image.dtype.rawValue) \(image.shape)")
  }
  var out = [Float](repeating: 0, count: g.columnRows * g.columnCols)
  image.floats.withUnsafeBufferPointer { src in
    out.withUnsafeMutableBufferPointer { im2col(g, image: src.baseAddress!, col: $0.baseAddress!) }
  }
  return Tensor(shape: [g.columnRows, g.columnCols], floats: out)
}

/// Tensor form of col2im: [columnRows, columnCols] → image [channels, height, width] (zeros + scatter).
public func col2im(_ col: Tensor, _ g: Conv2DGeometry) throws -> Tensor {
  guard col.shape == [g.columnRows, g.columnCols], col.dtype == .float32 else {
    throw TensorError.shapeMismatch(
      operation: "col2im", expected: "float32 [\(g.columnRows), \(g.columnCols)]",
      found: "\(col.dtype.rawValue) \(col.shape)")
  }
  var out = [Float](repeating: 0, count: g.channels * g.height * g.width)
  col.floats.withUnsafeBufferPointer { src in
    out.withUnsafeMutableBufferPointer { col2im(g, col: src.baseAddress!, image: $0.baseAddress!) }
  }
  return Tensor(shape: [g.channels, g.height, g.width], floats: out)
}
