import ModelGraph
import TensorCore

/// 3-D (and higher) spatial Conv, ConvTranspose, MaxPool and AveragePool on [N, C, D, H, W, …].
///
/// Conv with 3 spatial dims runs as a sum of 2-D convolutions (TensorCore's `conv2d`) over the
/// depth taps: for each kernel depth index kd, every output depth od reads input depth
/// od·s − p + kd·d; the (n, od) pairs whose depth is inside the input go through one `conv2d` with
/// the W[:, :, kd] slice and are added into Y. `reference` is the direct scalar convolution it is
/// tested against; pooling and ConvTranspose use direct N-D loops (`windowOffsets`).
enum ConvND {
  /// Row-major strides of `shape`.
  static func strides(_ shape: [Int]) -> [Int] {
    var s = [Int](repeating: 1, count: shape.count)
    for i in stride(from: shape.count - 2, through: 0, by: -1) { s[i] = s[i + 1] * shape[i + 1] }
    return s
  }

  /// Every multi-index of `shape` in row-major order.
  static func indices(_ shape: [Int]) -> [[Int]] {
    let total = shape.reduce(1, *)
    guard total > 0 else { return [] }
    var result: [[Int]] = []
    result.reserveCapacity(total)
    var index = [Int](repeating: 0, count: shape.count)
    for _ in 0..<total {
      result.append(index)
      var axis = shape.count - 1
      while axis >= 0 {
        index[axis] += 1
        if index[axis] < shape[axis] { break }
        index[axis] = 0
        axis -= 1
      }
    }
    return result
  }

  /// Conv, 3 spatial dims: the depth-tap decomposition over `conv2d` described above.
  static func conv3d(
    _ x: Tensor, _ w: Tensor, bias: [Float]?, win: ConvWindow, group: Int
  ) throws -> Tensor {
    let (batch, channels, depth) = (x.shape[0], x.shape[1], x.shape[2])
    let (h, wd) = (x.shape[3], x.shape[4])
    let (outChannels, cg) = (w.shape[0], w.shape[1])
    let (od, oh, ow) = (win.output[0], win.output[1], win.output[2])
    let (kd, kh, kw) = (win.kernel[0], win.kernel[1], win.kernel[2])
    var out = [Float](repeating: 0, count: batch * outChannels * od * oh * ow)
    if let bias {
      for n in 0..<batch {
        for m in 0..<outChannels {
          let base = (n * outChannels + m) * od * oh * ow
          for i in 0..<(od * oh * ow) { out[base + i] = bias[m] }
        }
      }
    }
    let xv = x.floats
    let wv = w.floats
    let plane = h * wd
    let outPlane = oh * ow
    for tap in 0..<kd {
      // Slice W[:, :, tap] → [M, C/g, kh, kw].
      var wSlice = [Float](repeating: 0, count: outChannels * cg * kh * kw)
      for mc in 0..<(outChannels * cg) {
        for k in 0..<(kh * kw) { wSlice[mc * kh * kw + k] = wv[(mc * kd + tap) * kh * kw + k] }
      }
      var pairs: [(n: Int, o: Int, z: Int)] = []
      for n in 0..<batch {
        for o in 0..<od {
          let z = o * win.strides[0] - win.padsBegin[0] + tap * win.dilations[0]
          if z >= 0 && z < depth { pairs.append((n, o, z)) }
        }
      }
      guard !pairs.isEmpty else { continue }
      var slices = [Float](repeating: 0, count: pairs.count * channels * plane)
      for (p, pair) in pairs.enumerated() {
        for c in 0..<channels {
          let src = ((pair.n * channels + c) * depth + pair.z) * plane
          let dst = (p * channels + c) * plane
          for i in 0..<plane { slices[dst + i] = xv[src + i] }
        }
      }
      let y = try conv2d(
        Tensor(shape: [pairs.count, channels, h, wd], floats: slices),
        weight: Tensor(shape: [outChannels, cg, kh, kw], floats: wSlice), bias: nil,
        stride: Array(win.strides[1...]),
        padding: [win.padsBegin[1], win.padsBegin[2], win.padsEnd[1], win.padsEnd[2]],
        dilation: Array(win.dilations[1...]), groups: group)
      let yv = y.floats
      for (p, pair) in pairs.enumerated() {
        for m in 0..<outChannels {
          let src = (p * outChannels + m) * outPlane
          let dst = ((pair.n * outChannels + m) * od + pair.o) * outPlane
          for i in 0..<outPlane { out[dst + i] += yv[src + i] }
        }
      }
    }
    return Tensor(shape: [batch, outChannels, od, oh, ow], floats: out)
  }

  /// Direct scalar N-D convolution (the reference of `conv3d`):
  /// Y[n, m, o…] = B[m] + Σ_{c, k…} W[m, c, k…] · X[n, g·C/G + c, o·s − p + k·d …].
  static func reference(
    _ x: Tensor, _ w: Tensor, bias: [Float]?, strides: [Int], padsBegin: [Int], dilations: [Int],
    group: Int, output: [Int]
  ) -> Tensor {
    let (batch, outChannels, cg) = (x.shape[0], w.shape[0], w.shape[1])
    let spatial = Array(x.shape[2...])
    let kernel = Array(w.shape[2...])
    let (xs, ws) = (ConvND.strides(x.shape), ConvND.strides(w.shape))
    let mg = outChannels / group
    let (xv, wv) = (x.floats, w.floats)
    let taps = indices(kernel)
    var out: [Float] = []
    out.reserveCapacity(batch * outChannels * output.reduce(1, *))
    for n in 0..<batch {
      for m in 0..<outChannels {
        let g = m / mg
        for o in indices(output) {
          var acc = bias?[m] ?? 0
          for c in 0..<cg {
            for k in taps {
              var xOffset = n * xs[0] + (g * cg + c) * xs[1]
              var inside = true
              for i in 0..<spatial.count {
                let p = o[i] * strides[i] - padsBegin[i] + k[i] * dilations[i]
                if p < 0 || p >= spatial[i] { inside = false; break }
                xOffset += p * xs[i + 2]
              }
              guard inside else { continue }
              var wOffset = m * ws[0] + c * ws[1]
              for i in 0..<kernel.count { wOffset += k[i] * ws[i + 2] }
              acc += wv[wOffset] * xv[xOffset]
            }
          }
          out.append(acc)
        }
      }
    }
    return Tensor(shape: [batch, outChannels] + output, floats: out)
  }

  /// MaxPool / AveragePool over any number of spatial dims (padding excluded from the max and,
  /// unless `includePad`, from the mean's divisor; the ceil_mode overhang never counts).
  static func pool(_ x: Tensor, win: ConvWindow, max isMax: Bool, includePad: Bool) -> Tensor {
    let spatial = Array(x.shape[2...])
    let planes = x.shape[0] * x.shape[1]
    let size = spatial.reduce(1, *)
    let xs = strides(spatial)
    let taps = indices(win.kernel)
    let outputs = indices(win.output)
    let xv = x.floats
    var out = [Float](repeating: 0, count: planes * outputs.count)
    for p in 0..<planes {
      for (j, o) in outputs.enumerated() {
        var acc: Float = isMax ? -.infinity : 0
        var count = 0
        var padded = 0
        for k in taps {
          var offset = 0
          var inside = true
          var inPadding = true
          for i in 0..<spatial.count {
            let q = o[i] * win.strides[i] - win.padsBegin[i] + k[i] * win.dilations[i]
            if q < 0 || q >= spatial[i] { inside = false }
            if q >= spatial[i] + win.padsEnd[i] { inPadding = false }
            offset += q * xs[i]
          }
          guard inside else {
            if inPadding { padded += 1 }
            continue
          }
          let v = xv[p * size + offset]
          if isMax { acc = Swift.max(acc, v) } else { acc += v }
          count += 1
        }
        let divisor = includePad ? count + padded : count
        out[p * outputs.count + j] = isMax ? acc : acc / Float(Swift.max(divisor, 1))
      }
    }
    return Tensor(shape: Array(x.shape[..<2]) + win.output, floats: out)
  }

  /// ConvTranspose over any number of spatial dims, by direct scatter:
  /// Y[n, g·M/G + m, i·s − p + k·d …] += X[n, c, i…] · W[c, m, k…], plus B.
  static func convTranspose(
    _ x: Tensor, _ w: Tensor, bias: [Float]?, strides: [Int], padsBegin: [Int], dilations: [Int],
    group: Int, output: [Int]
  ) -> Tensor {
    let (batch, channels, mg) = (x.shape[0], x.shape[1], w.shape[1])
    let cg = channels / group
    let outChannels = mg * group
    let spatial = Array(x.shape[2...])
    let kernel = Array(w.shape[2...])
    let (ys, ws) = (ConvND.strides(output), ConvND.strides(w.shape))
    let outSize = output.reduce(1, *)
    let (xv, wv) = (x.floats, w.floats)
    let taps = indices(kernel)
    let inputs = indices(spatial)
    var out = [Float](repeating: 0, count: batch * outChannels * outSize)
    for n in 0..<batch {
      for c in 0..<channels {
        let g = c / cg
        for (j, i) in inputs.enumerated() {
          let v = xv[(n * channels + c) * inputs.count + j]
          for m in 0..<mg {
            let yBase = (n * outChannels + g * mg + m) * outSize
            for k in taps {
              var offset = 0
              var inside = true
              for a in 0..<spatial.count {
                let q = i[a] * strides[a] - padsBegin[a] + k[a] * dilations[a]
                if q < 0 || q >= output[a] { inside = false; break }
                offset += q * ys[a]
              }
              guard inside else { continue }
              var wOffset = c * ws[0] + m * ws[1]
              for a in 0..<kernel.count { wOffset += k[a] * ws[a + 2] }
              out[yBase + offset] += v * wv[wOffset]
            }
          }
        }
      }
    }
    if let bias {
      for n in 0..<batch {
        for m in 0..<outChannels {
          for i in 0..<outSize { out[(n * outChannels + m) * outSize + i] += bias[m] }
        }
      }
    }
    return Tensor(shape: [batch, outChannels] + output, floats: out)
  }
}
