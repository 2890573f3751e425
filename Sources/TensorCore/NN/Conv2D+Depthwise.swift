// Direct depthwise convolution: every output channel reads a single input channel (C/groups = 1),
// as in MobileNet's 3×3 depthwise layers. im2col + GEMM would multiply 1×(KH·KW) by (KH·KW)×(OH·OW)
// per channel — all packing, no reuse — so this kernel accumulates taps directly:
//   out[oy, ox] = bias + Σ_{ky,kx} W[ky, kx] · xpad[oy·sh + ky·dh, ox·sw + kx·dw]
// over a zero-padded copy of the plane, 16 outputs per SIMD16 register when the width stride is 1.

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
        let scratch = (g.width + g.padLeft + g.padRight + 32) * (g.height + g.padTop + g.padBottom + 1)
        // Planes in chunks, one scratch plane per chunk.
        let chunk = Swift.max(1, planes / (4 * ThreadPool.shared.threadCount))
        let run = { (c: Int) in
          let padded = UnsafeMutablePointer<Float>.allocate(capacity: scratch)
          defer { padded.deallocate() }
          for plane in (c * chunk)..<Swift.min(planes, (c + 1) * chunk) {
            let (n, o) = (plane / p.outChannels, plane % p.outChannels)
            let source = xs.base + (n * p.inChannels + o / multiplier) * inPlane
            let kernel = ws.base + o * g.kernelHeight * g.kernelWidth
            depthwisePlane(g, source, kernel, bias?[o] ?? 0, os.base + plane * outPlane, padded)
          }
        }
        let chunks = (planes + chunk - 1) / chunk
        let work = planes * outPlane * g.kernelHeight * g.kernelWidth
        if work >= 1 << 16 && chunks > 1 {
          ThreadPool.shared.parallelFor(chunks) { run($0) }
        } else {
          for c in 0..<chunks { run(c) }
        }
      }
    }
  }
  return out
}

/// One output plane of a depthwise convolution. The input plane is first copied into a zero-bordered
/// scratch plane (`padded`, at least (H + pt + pb + 1) × (W + pl + pr + 32) floats), so every tap is in
/// bounds: 16 outputs are accumulated in one SIMD16 register over all KH·KW taps (width stride 1; for
/// stride 2 the even lanes of two loads are gathered with one shuffle). Rows are padded by 32 floats
/// so the wide loads of the last outputs stay inside the scratch plane.
@inline(__always)
private func depthwisePlane(
  _ g: Conv2DGeometry, _ src: UnsafePointer<Float>, _ kernel: UnsafePointer<Float>, _ bias: Float,
  _ dst: UnsafeMutablePointer<Float>, _ padded: UnsafeMutablePointer<Float>
) {
  let (oh, ow) = (g.outHeight, g.outWidth)
  let pw = g.width + g.padLeft + g.padRight + 32
  let ph = g.height + g.padTop + g.padBottom + 1
  // Zero only the border (top rows, bottom rows incl. the slack row, left and right margins); the
  // interior is overwritten by the copy.
  padded.update(repeating: 0, count: g.padTop * pw)
  for y in 0..<g.height {
    let line = padded + (y + g.padTop) * pw
    line.update(repeating: 0, count: g.padLeft)
    (line + g.padLeft).update(from: src + y * g.width, count: g.width)
    (line + g.padLeft + g.width).update(repeating: 0, count: pw - g.padLeft - g.width)
  }
  (padded + (g.padTop + g.height) * pw).update(repeating: 0, count: (ph - g.padTop - g.height) * pw)
  let taps = g.kernelHeight * g.kernelWidth
  // offset of tap t = (ky, kx) in the padded plane; computed once (no divisions in the hot loop)
  let offsets = UnsafeMutablePointer<Int>.allocate(capacity: taps)
  defer { offsets.deallocate() }
  for ky in 0..<g.kernelHeight {
    for kx in 0..<g.kernelWidth {
      offsets[ky * g.kernelWidth + kx] = ky * g.dilationH * pw + kx * g.dilationW
    }
  }
  for oy in 0..<oh {
    let top = padded + oy * g.strideH * pw
    let row = dst + oy * ow
    if g.strideW == 1 {
      var ox = 0
      while ox < ow {
        var acc = SIMD16<Float>(repeating: bias)
        for t in 0..<taps {
          let p = top + offsets[t] + ox
          acc = acc.addingProduct(UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self), kernel[t])
        }
        storePartial(acc, row + ox, count: Swift.min(16, ow - ox))
        ox += 16
      }
    } else if g.strideW == 2 {
      var ox = 0
      while ox < ow {
        var acc = SIMD16<Float>(repeating: bias)
        for t in 0..<taps {
          let p = top + offsets[t] + 2 * ox
          let a = UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
          let b = UnsafeRawPointer(p + 16).loadUnaligned(as: SIMD16<Float>.self)
          let even = SIMD16<Float>(
            a[0], a[2], a[4], a[6], a[8], a[10], a[12], a[14], b[0], b[2], b[4], b[6], b[8], b[10], b[12],
            b[14])
          acc = acc.addingProduct(even, kernel[t])
        }
        storePartial(acc, row + ox, count: Swift.min(16, ow - ox))
        ox += 16
      }
    } else {
      for ox in 0..<ow {
        var acc = bias
        let base = top + ox * g.strideW
        for t in 0..<taps { acc += kernel[t] * base[offsets[t]] }
        row[ox] = acc
      }
    }
  }
}

/// The first `count` (≤ 16) lanes of `v` to `dst` (a lane indexed by a variable costs ~10 ns; this
/// goes through memory instead).
@inline(__always)
private func storePartial(_ v: SIMD16<Float>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
  if count == 16 {
    UnsafeMutableRawPointer(dst).storeBytes(of: v, as: SIMD16<Float>.self)
    return
  }
  var copy = v
  withUnsafeBytes(of: &copy) { raw in
    for k in 0..<count { dst[k] = raw.load(fromByteOffset: k * 4, as: Float.self) }
  }
}
