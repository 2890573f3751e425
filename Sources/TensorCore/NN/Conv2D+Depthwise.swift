// Direct depthwise convolution: every output channel reads a single input channel (C/groups = 1),
// as in MobileNet's 3×3 depthwise layers. im2col + GEMM would multiply 1×(KH·KW) by (KH·KW)×(OH·OW)
// per channel — all packing, no reuse — so this kernel accumulates shifted input rows instead:
//   out[oy, ox] += W[ky, kx] · x[oy·sh − pt + ky·dh, ox·sw − pl + kx·dw]
// with the ox range clipped once per (ky, kx), SIMD16 over ox when the width stride is 1.

/// x: [N, C, H, W], weight: [O, 1, KH, KW] with O = C · multiplier, groups = C; out: [N, O, OH, OW].
func depthwiseConv2d(_ p: ConvProblem, _ x: [Float], _ w: [Float], _ bias: [Float]?) -> [Float] {
  let g = p.geometry
  let multiplier = p.outChannels / p.inChannels
  let (inPlane, outPlane) = (p.height * p.width, g.outHeight * g.outWidth)
  let planes = p.batch * p.outChannels
  var out = [Float](repeating: 0, count: planes * outPlane)
  x.withUnsafeBufferPointer { xb in
    w.withUnsafeBufferPointer { wb in
      out.withUnsafeMutableBufferPointer { ob in
        guard planes > 0 else { return }
        let (xs, ws) = (SendableConstPointer(xb.baseAddress!), SendableConstPointer(wb.baseAddress!))
        let os = SendablePointer(ob.baseAddress!)
        let run = { (plane: Int) in
          let (n, o) = (plane / p.outChannels, plane % p.outChannels)
          let source = xs.base + (n * p.inChannels + o / multiplier) * inPlane
          let kernel = ws.base + o * g.kernelHeight * g.kernelWidth
          depthwisePlane(g, source, kernel, bias?[o] ?? 0, os.base + plane * outPlane)
        }
        let work = planes * outPlane * g.kernelHeight * g.kernelWidth
        if work >= 1 << 16 {
          ThreadPool.shared.parallelFor(planes) { run($0) }
        } else {
          for plane in 0..<planes { run(plane) }
        }
      }
    }
  }
  return out
}

/// One output plane of a depthwise convolution (initialised to `bias`).
@inline(__always)
private func depthwisePlane(
  _ g: Conv2DGeometry, _ src: UnsafePointer<Float>, _ kernel: UnsafePointer<Float>, _ bias: Float,
  _ dst: UnsafeMutablePointer<Float>
) {
  let (oh, ow) = (g.outHeight, g.outWidth)
  dst.update(repeating: bias, count: oh * ow)
  for oy in 0..<oh {
    let row = dst + oy * ow
    for ky in 0..<g.kernelHeight {
      let y = oy * g.strideH - g.padTop + ky * g.dilationH
      if y < 0 || y >= g.height { continue }
      let input = src + y * g.width
      for kx in 0..<g.kernelWidth {
        let weight = kernel[ky * g.kernelWidth + kx]
        let xOffset = kx * g.dilationW - g.padLeft
        let oxStart = Swift.min(ow, Swift.max(0, (-xOffset + g.strideW - 1) / g.strideW))
        let oxEnd = Swift.max(oxStart, Swift.min(ow, (g.width - xOffset + g.strideW - 1) / g.strideW))
        if g.strideW == 1 {
          var ox = oxStart
          let vw = SIMD16<Float>(repeating: weight)
          let shifted = input + xOffset
          while ox + 16 <= oxEnd {
            let v = UnsafeRawPointer(shifted + ox).loadUnaligned(as: SIMD16<Float>.self)
            let d = UnsafeMutableRawPointer(row + ox)
            d.storeBytes(of: d.loadUnaligned(as: SIMD16<Float>.self).addingProduct(v, vw), as: SIMD16<Float>.self)
            ox += 16
          }
          while ox < oxEnd {
            row[ox] += weight * shifted[ox]
            ox += 1
          }
        } else {
          for ox in oxStart..<oxEnd { row[ox] += weight * input[ox * g.strideW + xOffset] }
        }
      }
    }
  }
}
