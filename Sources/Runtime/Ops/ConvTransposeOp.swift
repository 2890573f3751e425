import ModelGraph
import TensorCore

extension ConvOps {
  /// ConvTranspose (ONNX spec): X [N, C, H, W], W [C, M/group, kh, kw] → Y [N, M, OH, OW] with
  /// OH = s·(H − 1) + output_padding + (kh − 1)·d + 1 − pad_begin − pad_end (or `output_shape`).
  /// Computed as cols = Wᵀ·X per group, then col2im scatter-add.
  static func convTranspose(_ ctx: OpContext) throws -> Tensor {
    let x = try ctx.floatInput(0)
    let w = try ctx.floatInput(1)
    let group = try ctx.int("group", default: 1)
    guard x.rank >= 3, w.rank == x.rank, x.shape[1] == w.shape[0], x.shape[1] % group == 0
    else {
      throw ctx.shapeError(expected: "X [N, C, spatial…], W [C, M/group, k…]", found: "\(x.shape), \(w.shape)")
    }
    let d = x.rank - 2
    let spatial = Array(x.shape[2...])
    let kernel = try ctx.ints("kernel_shape") ?? Array(w.shape[2...])
    let strides = try ctx.ints("strides") ?? [Int](repeating: 1, count: d)
    let dilations = try ctx.ints("dilations") ?? [Int](repeating: 1, count: d)
    let outputPadding = try ctx.ints("output_padding") ?? [Int](repeating: 0, count: d)
    var pads = try ctx.ints("pads") ?? [Int](repeating: 0, count: 2 * d)
    guard strides.count == d, dilations.count == d, outputPadding.count == d, pads.count == 2 * d else {
      throw ctx.unsupported("strides/dilations/pads", "\(strides)/\(dilations)/\(pads) for \(d)-D")
    }
    let autoPad = try ctx.string("auto_pad", default: "NOTSET")
    var outSpatial = [Int](repeating: 0, count: d)
    let requested = try ctx.ints("output_shape").map { Array($0.suffix(d)) }
    for i in 0..<d {
      let full = strides[i] * (spatial[i] - 1) + outputPadding[i] + (kernel[i] - 1) * dilations[i] + 1
      if let requested {
        let total = full - requested[i]
        pads[i] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2
        pads[i + d] = total - pads[i]
      } else if autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER" {
        let total = full - spatial[i] * strides[i]
        pads[i] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2
        pads[i + d] = total - pads[i]
      } else if autoPad == "VALID" {
        pads[i] = 0
        pads[i + d] = 0
      } else if autoPad != "NOTSET" {
        throw ctx.unsupported("auto_pad", autoPad)
      }
      outSpatial[i] = full - pads[i] - pads[i + d]
    }
    if d >= 3 {
      guard kernel == Array(w.shape[2...]), outSpatial.allSatisfy({ $0 >= 1 }) else {
        throw ctx.shapeError(expected: "kernel_shape \(Array(w.shape[2...])) and an output ≥ 1", found: "\(kernel), \(outSpatial)")
      }
      let bias = ctx.optionalInput(2)?.asFloats()
      guard bias == nil || bias!.count == w.shape[1] * group else {
        throw ctx.shapeError(expected: "B [\(w.shape[1] * group)]", found: "\(ctx.optionalInput(2)!.shape)")
      }
      return ConvND.convTranspose(
        x, w, bias: bias, strides: strides, padsBegin: Array(pads[..<d]), dilations: dilations, group: group,
        output: outSpatial)
    }
    let (batch, channels) = (x.shape[0], x.shape[1])
    let (cg, mg) = (channels / group, w.shape[1])
    let outChannels = mg * group
    let two = { (v: [Int], pad: Int) in d == 1 ? [pad] + v : v }
    let (kh, kw) = (two(kernel, 1)[0], two(kernel, 1)[1])
    let (sh, sw) = (two(strides, 1)[0], two(strides, 1)[1])
    let (dh, dw) = (two(dilations, 1)[0], two(dilations, 1)[1])
    let (ph, pw) = (d == 1 ? 0 : pads[0], pads[d - 1])
    let (h, wd) = (two(spatial, 1)[0], two(spatial, 1)[1])
    let (oh, ow) = (two(outSpatial, 1)[0], two(outSpatial, 1)[1])
    let rows = mg * kh * kw
    var out = [Float](repeating: 0, count: batch * outChannels * oh * ow)
    let bias = ctx.optionalInput(2)?.asFloats()
    let xv = x.floats
    let wv = w.floats
    for n in 0..<batch {
      for g in 0..<group {
        var cols = [Float](repeating: 0, count: rows * h * wd)
        // cols[rows, H·W] = W_gᵀ [rows, C/G] · X_g [C/G, H·W]
        xv.withUnsafeBufferPointer { px in
          wv.withUnsafeBufferPointer { pwt in
            gemm(
              transA: true, transB: false, m: rows, n: h * wd, k: cg, alpha: 1,
              a: pwt.baseAddress! + g * cg * rows, lda: rows,
              b: px.baseAddress! + (n * channels + g * cg) * h * wd, ldb: h * wd,
              beta: 0, c: &cols, ldc: h * wd)
          }
        }
        for m in 0..<mg {
          let plane = ((n * outChannels) + g * mg + m) * oh * ow
          for i in 0..<kh {
            for j in 0..<kw {
              let src = ((m * kh + i) * kw + j) * h * wd
              for y in 0..<h {
                let oy = y * sh - ph + i * dh
                if oy < 0 || oy >= oh { continue }
                for xx in 0..<wd {
                  let ox = xx * sw - pw + j * dw
                  if ox >= 0 && ox < ow { out[plane + oy * ow + ox] += cols[src + y * wd + xx] }
                }
              }
            }
          }
          if let bias { for p in 0..<(oh * ow) { out[plane + p] += bias[g * mg + m] } }
        }
      }
    }
    return Tensor(shape: [batch, outChannels] + outSpatial, floats: out)
  }
}
