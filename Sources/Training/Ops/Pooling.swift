import ModelGraph
import TensorCore

/// MaxPool, AveragePool, GlobalAveragePool (ONNX opset 12/19/1; 2-D, ceil_mode 0), forward and backward.

/// MaxPool: y[n, c, oy, ox] = max over the window (padding never wins). The forward keeps the flat
/// input index of each maximum (first one on ties); backward routes dy to it.
let maxPoolOp = DifferentiableOp { node, inputs, _ in
  let x = try node.input(inputs, 0)
  if node.outputs.count > 1 && !node.outputs[1].isEmpty {
    throw TrainingError.unsupportedAttribute(
      node: node.name, opType: node.opType, attribute: "outputs", value: "Indices output")
  }
  let geo = try WindowGeometry(node: node, input: x.shape, kernel: nil)
  let planes = geo.n * geo.c, p = geo.outputPixels
  let xv = x.floats
  var y = [Float](repeating: 0, count: planes * p)
  var argmax = [Int32](repeating: -1, count: planes * p)
  xv.withUnsafeBufferPointer { xb in
    y.withUnsafeMutableBufferPointer { yb in
      argmax.withUnsafeMutableBufferPointer { ab in
        let src = SendableConstPointer(xb.baseAddress!), dst = SendablePointer(yb.baseAddress!)
        let arg = SendablePointer(ab.baseAddress!)
        ThreadPool.shared.parallelFor(planes) { plane in
          maxPoolPlane(geo, src.base, plane: plane, y: dst.base + plane * p, argmax: arg.base + plane * p)
        }
      }
    }
  }
  let out = Tensor(shape: [geo.n, geo.c, geo.oh, geo.ow], floats: y)
  return OpStep(outputs: [out]) { grads in
    guard let dy = grads[0]?.floats else { return [nil] }
    var dx = [Float](repeating: 0, count: xv.count)
    for o in 0..<dy.count where argmax[o] >= 0 { dx[Int(argmax[o])] += dy[o] }
    return [Tensor(shape: x.shape, floats: dx)]
  }
}

/// AveragePool: y = mean over the window; count_include_pad = 0 (default) divides by the number of
/// pixels inside the image, 1 by KH·KW. Backward spreads dy / divisor over the window.
let averagePoolOp = DifferentiableOp { node, inputs, _ in
  let x = try node.input(inputs, 0)
  let geo = try WindowGeometry(node: node, input: x.shape, kernel: nil)
  let includePad = try node.int("count_include_pad", default: 0) != 0
  let planes = geo.n * geo.c, p = geo.outputPixels
  let xv = x.floats
  // divisor[oy·OW + ox], the same for every plane.
  var divisor = [Float](repeating: 0, count: p)
  for oy in 0..<geo.oh {
    for ox in 0..<geo.ow {
      var count = 0
      for ky in 0..<geo.kh {
        let iy = oy * geo.sh - geo.padTop + ky * geo.dh
        for kx in 0..<geo.kw {
          let ix = ox * geo.sw - geo.padLeft + kx * geo.dw
          if iy >= 0 && iy < geo.h && ix >= 0 && ix < geo.w { count += 1 }
        }
      }
      divisor[oy * geo.ow + ox] = Float(includePad ? geo.kh * geo.kw : max(count, 1))
    }
  }
  // Visits every (output, input) pair of the windows inside the image.
  func forEachPair(_ body: (Int, Int, Int) -> Void) {
    for plane in 0..<planes {
      let base = plane * geo.h * geo.w
      for oy in 0..<geo.oh {
        for ox in 0..<geo.ow {
          for ky in 0..<geo.kh {
            let iy = oy * geo.sh - geo.padTop + ky * geo.dh
            if iy < 0 || iy >= geo.h { continue }
            for kx in 0..<geo.kw {
              let ix = ox * geo.sw - geo.padLeft + kx * geo.dw
              if ix < 0 || ix >= geo.w { continue }
              body(plane * p + oy * geo.ow + ox, base + iy * geo.w + ix, oy * geo.ow + ox)
            }
          }
        }
      }
    }
  }
  var y = [Float](repeating: 0, count: planes * p)
  forEachPair { o, i, q in y[o] += xv[i] / divisor[q] }
  let out = Tensor(shape: [geo.n, geo.c, geo.oh, geo.ow], floats: y)
  return OpStep(outputs: [out]) { grads in
    guard let dy = grads[0]?.floats else { return [nil] }
    var dx = [Float](repeating: 0, count: xv.count)
    forEachPair { o, i, q in dx[i] += dy[o] / divisor[q] }
    return [Tensor(shape: x.shape, floats: dx)]
  }
}

/// GlobalAveragePool: [N, C, H, W] → [N, C, 1, 1] (any rank ≥ 3: mean over the spatial axes).
/// Backward: dx = dy / (H·W) everywhere.
let globalAveragePoolOp = DifferentiableOp { node, inputs, _ in
  let x = try node.input(inputs, 0)
  guard x.rank >= 3 else { throw node.shapeError("[N, C, spatial…]", x.shape) }
  let planes = x.shape[0] * x.shape[1], size = x.shape[2...].reduce(1, *)
  let xv = x.floats
  var y = [Float](repeating: 0, count: planes)
  for plane in 0..<planes {
    var s: Float = 0
    for i in 0..<size { s += xv[plane * size + i] }
    y[plane] = s / Float(size)
  }
  let outShape = [x.shape[0], x.shape[1]] + [Int](repeating: 1, count: x.rank - 2)
  return OpStep(outputs: [Tensor(shape: outShape, floats: y)]) { grads in
    guard let dy = grads[0]?.floats else { return [nil] }
    var dx = [Float](repeating: 0, count: xv.count)
    for plane in 0..<planes {
      let g = dy[plane] / Float(size)
      for i in 0..<size { dx[plane * size + i] = g }
    }
    return [Tensor(shape: x.shape, floats: dx)]
  }
}

/// One [H, W] plane of MaxPool: y[oy·OW + ox] = max of the window, argmax = flat index into x.
@inline(__always)
private func maxPoolPlane(
  _ geo: WindowGeometry, _ x: UnsafePointer<Float>, plane: Int, y: UnsafeMutablePointer<Float>,
  argmax: UnsafeMutablePointer<Int32>
) {
  let base = plane * geo.h * geo.w
  for oy in 0..<geo.oh {
    // Window rows and columns inside the image (padding never wins).
    let y0 = oy * geo.sh - geo.padTop
    let kyLo = y0 >= 0 ? 0 : (-y0 + geo.dh - 1) / geo.dh
    let kyHi = min(geo.kh, (geo.h - 1 - y0) / geo.dh + 1)
    for ox in 0..<geo.ow {
      let x0 = ox * geo.sw - geo.padLeft
      let kxLo = x0 >= 0 ? 0 : (-x0 + geo.dw - 1) / geo.dw
      let kxHi = min(geo.kw, (geo.w - 1 - x0) / geo.dw + 1)
      var bestIndex = base + (y0 + kyLo * geo.dh) * geo.w + x0 + kxLo * geo.dw
      var best = x[bestIndex]
      for ky in kyLo..<max(kyHi, kyLo) {
        let rowStart = base + (y0 + ky * geo.dh) * geo.w + x0
        for kx in kxLo..<max(kxHi, kxLo) {
          let index = rowStart + kx * geo.dw
          let v = x[index]
          let better = v > best  // strict: the first maximum wins on ties
          best = better ? v : best
          bestIndex = better ? index : bestIndex
        }
      }
      y[oy * geo.ow + ox] = best
      argmax[oy * geo.ow + ox] = Int32(bestIndex)
    }
  }
}
