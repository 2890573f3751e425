// 2-D convolution (ONNX Conv, NCHW): input [N, C, H, W], weight [O, C/groups, KH, KW], bias [O]?
//   out[n, o, oy, ox] = bias[o] + Σ_{c ∈ group(o), ky, kx} W[o, c, ky, kx] · x[n, c, oy·sh − pt + ky·dh,
//                                                                              ox·sw − pl + kx·dw]
// padding is [top, left, bottom, right]. Fast path: per image and group, im2col + gemm (1×1 stride-1
// unpadded convolutions skip im2col); depthwise convolutions (C/groups = 1, O/groups = 1) use a
// direct kernel (Conv2D+Depthwise.swift).

public func conv2d(
  _ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: [Int] = [1, 1],
  padding: [Int] = [0, 0, 0, 0], dilation: [Int] = [1, 1], groups: Int = 1
) throws -> Tensor {
  let p = try ConvProblem(input, weight, bias, stride, padding, dilation, groups)
  let g = p.geometry
  let (cg, og) = (p.inChannels / groups, p.outChannels / groups)
  let spatial = g.outHeight * g.outWidth
  let k = g.columnRows
  var out = [Float](repeating: 0, count: p.batch * p.outChannels * spatial)
  let x = input.floats
  let w = weight.floats
  let direct = g.kernelHeight == 1 && g.kernelWidth == 1 && g.strideH == 1 && g.strideW == 1
    && g.padTop == 0 && g.padLeft == 0 && g.padBottom == 0 && g.padRight == 0
  var col = [Float](repeating: 0, count: direct ? 0 : k * spatial)
  x.withUnsafeBufferPointer { xb in
    w.withUnsafeBufferPointer { wb in
      out.withUnsafeMutableBufferPointer { ob in
        col.withUnsafeMutableBufferPointer { cb in
          for n in 0..<p.batch {
            for group in 0..<groups {
              let image = xb.baseAddress! + (n * p.inChannels + group * cg) * p.height * p.width
              let b: UnsafePointer<Float>
              if direct {
                b = image
              } else {
                im2col(g, image: image, col: cb.baseAddress!)
                b = UnsafePointer(cb.baseAddress!)
              }
              gemm(
                transA: false, transB: false, m: og, n: spatial, k: k, alpha: 1,
                a: wb.baseAddress! + group * og * k, lda: k, b: b, ldb: spatial, beta: 0,
                c: ob.baseAddress! + (n * p.outChannels + group * og) * spatial, ldc: spatial)
            }
          }
        }
      }
    }
  }
  if let bias { addChannelBias(&out, bias.floats, planes: p.batch * p.outChannels, spatial: spatial) }
  return Tensor(shape: [p.batch, p.outChannels, g.outHeight, g.outWidth], floats: out)
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

/// out[plane, i] += bias[plane % channels]
func addChannelBias(_ out: inout [Float], _ bias: [Float], planes: Int, spatial: Int) {
  let channels = bias.count
  out.withUnsafeMutableBufferPointer { ob in
    for plane in 0..<planes {
      let b = bias[plane % channels]
      let p = ob.baseAddress! + plane * spatial
      for i in 0..<spatial { p[i] += b }
    }
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
