import ModelGraph
import TensorCore

/// Geometry of a 2-D sliding window (Conv, MaxPool, AveragePool) over x [N, C, H, W], following
/// the ONNX Conv-11 attributes: kernel_shape, strides, pads [top, left, bottom, right], dilations,
/// auto_pad (NOTSET, VALID, SAME_UPPER, SAME_LOWER).
struct WindowGeometry: Equatable {
  var n, c, h, w: Int
  var kh, kw: Int
  var sh, sw: Int
  var dh, dw: Int
  var padTop, padLeft, padBottom, padRight: Int
  var oh, ow: Int

  /// Output pixels per image.
  var outputPixels: Int { oh * ow }

  init(node: Node, input shape: [Int], kernel: (Int, Int)?) throws {
    guard shape.count == 4 else { throw node.shapeError("[N, C, H, W]", shape) }
    (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
    let k = try node.ints("kernel_shape") ?? kernel.map { [$0.0, $0.1] } ?? []
    guard k.count == 2 else { throw node.shapeError("2-D kernel_shape", k) }
    (kh, kw) = (k[0], k[1])
    let s = try node.ints("strides") ?? [1, 1]
    let d = try node.ints("dilations") ?? [1, 1]
    guard s.count == 2, d.count == 2, s.allSatisfy({ $0 > 0 }), d.allSatisfy({ $0 > 0 }) else {
      throw node.attributeError("strides/dilations", .ints(s + d))
    }
    (sh, sw, dh, dw) = (s[0], s[1], d[0], d[1])
    let autoPad = try node.string("auto_pad", default: "NOTSET")
    var p = try node.ints("pads") ?? [0, 0, 0, 0]
    switch autoPad {
    case "NOTSET": break
    case "VALID": p = [0, 0, 0, 0]
    case "SAME_UPPER", "SAME_LOWER":
      func total(_ size: Int, _ k: Int, _ s: Int, _ d: Int) -> Int {
        max(((size + s - 1) / s - 1) * s + (k - 1) * d + 1 - size, 0)
      }
      let th = total(h, kh, sh, dh), tw = total(w, kw, sw, dw)
      let upper = autoPad == "SAME_UPPER"
      p = upper ? [th / 2, tw / 2, th - th / 2, tw - tw / 2] : [th - th / 2, tw - tw / 2, th / 2, tw / 2]
    default: throw node.attributeError("auto_pad", .string(autoPad))
    }
    guard p.count == 4 else { throw node.attributeError("pads", .ints(p)) }
    (padTop, padLeft, padBottom, padRight) = (p[0], p[1], p[2], p[3])
    if try node.int("ceil_mode", default: 0) != 0 {
      throw node.attributeError("ceil_mode", .int(1))
    }
    oh = (h + padTop + padBottom - dh * (kh - 1) - 1) / sh + 1
    ow = (w + padLeft + padRight - dw * (kw - 1) - 1) / sw + 1
    guard oh > 0, ow > 0 else { throw node.shapeError("a window that fits the input", shape) }
  }
}

/// im2col with one row per output pixel: col[(n·OH + oy)·OW + ox, (c·KH + ky)·KW + kx] =
/// x[n, c, oy·sh − padTop + ky·dh, ox·sw − padLeft + kx·dw] (0 outside the image).
/// col: [N·OH·OW, C·KH·KW]. Parallel over images.
func im2colRows(_ x: [Float], _ g: WindowGeometry) -> [Float] {
  let cols = g.c * g.kh * g.kw
  let rowsPerImage = g.outputPixels
  let total = g.n * rowsPerImage * cols
  // Every entry is written below.
  return [Float](unsafeUninitializedCapacity: total) { cb, initialized in
    x.withUnsafeBufferPointer { xb in
      let src = SendableConstPointer(xb.baseAddress!), dst = SendablePointer(cb.baseAddress!)
      ThreadPool.shared.parallelFor(g.n) { img in
        let xImg = src.base + img * g.c * g.h * g.w
        for oy in 0..<g.oh {
          for ox in 0..<g.ow {
            var row = dst.base + ((img * g.oh + oy) * g.ow + ox) * cols
            let ix0 = ox * g.sw - g.padLeft
            // The kx run reads x contiguously when dilation is 1 and it lies inside the row.
            let contiguous = g.dw == 1 && ix0 >= 0 && ix0 + g.kw <= g.w
            for ch in 0..<g.c {
              let plane = xImg + ch * g.h * g.w
              for ky in 0..<g.kh {
                let iy = oy * g.sh - g.padTop + ky * g.dh
                if iy < 0 || iy >= g.h {
                  row.update(repeating: 0, count: g.kw)
                } else if contiguous {
                  row.update(from: plane + iy * g.w + ix0, count: g.kw)
                } else {
                  for kx in 0..<g.kw {
                    let ix = ix0 + kx * g.dw
                    row[kx] = (ix >= 0 && ix < g.w) ? plane[iy * g.w + ix] : 0
                  }
                }
                row += g.kw
              }
            }
          }
        }
      }
    }
    initialized = total
  }
}

/// col2im: the adjoint of `im2col` — every col entry is added back to the pixel it was read from.
/// Returns dx [N, C, H, W]. Parallel over images (disjoint outputs).
func col2imRows(_ col: [Float], _ g: WindowGeometry) -> [Float] {
  let cols = g.c * g.kh * g.kw
  var x = [Float](repeating: 0, count: g.n * g.c * g.h * g.w)
  col.withUnsafeBufferPointer { cb in
    x.withUnsafeMutableBufferPointer { xb in
      let src = SendableConstPointer(cb.baseAddress!), dst = SendablePointer(xb.baseAddress!)
      ThreadPool.shared.parallelFor(g.n) { img in
        let xImg = dst.base + img * g.c * g.h * g.w
        for oy in 0..<g.oh {
          for ox in 0..<g.ow {
            let row = src.base + ((img * g.oh + oy) * g.ow + ox) * cols
            var j = 0
            for ch in 0..<g.c {
              let plane = xImg + ch * g.h * g.w
              for ky in 0..<g.kh {
                let iy = oy * g.sh - g.padTop + ky * g.dh
                for kx in 0..<g.kw {
                  let ix = ox * g.sw - g.padLeft + kx * g.dw
                  if iy >= 0 && iy < g.h && ix >= 0 && ix < g.w { plane[iy * g.w + ix] += row[j] }
                  j += 1
                }
              }
            }
          }
        }
      }
    }
  }
  return x
}

/// [N·P, M] (rows = output pixels) → [N, M, P] (NCHW), optionally adding bias[m]. Parallel over images.
func pixelsToChannels(_ t: [Float], n: Int, p: Int, m: Int, bias: [Float]?) -> [Float] {
  let b = bias ?? [Float](repeating: 0, count: m)
  return [Float](unsafeUninitializedCapacity: n * m * p) { out, initialized in
    t.withUnsafeBufferPointer { tb in
      let src = SendableConstPointer(tb.baseAddress!), dst = SendablePointer(out.baseAddress!)
      ThreadPool.shared.parallelFor(n) { img in
        for ch in 0..<m {
          let o = dst.base + (img * m + ch) * p, s = src.base + img * p * m + ch
          for q in 0..<p { o[q] = s[q * m] + b[ch] }
        }
      }
    }
    initialized = n * m * p
  }
}

/// [N, M, P] (NCHW) → [N·P, M]. Parallel over images.
func channelsToPixels(_ t: [Float], n: Int, p: Int, m: Int) -> [Float] {
  [Float](unsafeUninitializedCapacity: n * m * p) { out, initialized in
    t.withUnsafeBufferPointer { tb in
      let src = SendableConstPointer(tb.baseAddress!), dst = SendablePointer(out.baseAddress!)
      ThreadPool.shared.parallelFor(n) { img in
        for ch in 0..<m {
          let s = src.base + (img * m + ch) * p, o = dst.base + img * p * m + ch
          for q in 0..<p { o[q * m] = s[q] }
        }
      }
    }
    initialized = n * m * p
  }
}
