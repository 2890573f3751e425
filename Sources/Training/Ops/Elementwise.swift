import ModelGraph
import TensorCore

/// Add with numpy broadcasting (ONNX Add-14), and the broadcasting helpers its backward needs.

/// The numpy broadcast of two shapes, or nil if incompatible.
func broadcastShapeOrNil(_ a: [Int], _ b: [Int]) -> [Int]? {
  let r = max(a.count, b.count)
  let pa = [Int](repeating: 1, count: r - a.count) + a
  let pb = [Int](repeating: 1, count: r - b.count) + b
  var out: [Int] = []
  for (x, y) in zip(pa, pb) {
    if x == y || y == 1 {
      out.append(x)
    } else if x == 1 {
      out.append(y)
    } else {
      return nil
    }
  }
  return out
}

/// Strides (in elements) for reading a tensor of `shape` as if broadcast to `target`: 0 on
/// broadcast axes.
func paddedBroadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
  let padded = [Int](repeating: 1, count: target.count - shape.count) + shape
  let strides = Tensor.strides(of: padded)
  return zip(padded, strides).map { $0.0 == 1 ? 0 : $0.1 }
}

/// Calls body(outputIndex, inputIndex) for every element of `target` in row-major order.
@inline(__always)
func forEachBroadcast(_ target: [Int], _ strides: [Int], _ body: (Int, Int) -> Void) {
  let total = target.reduce(1, *)
  if total == 0 { return }
  let r = target.count
  if r == 0 {
    body(0, 0)
    return
  }
  var counter = [Int](repeating: 0, count: r)
  var inIndex = 0
  let inner = target[r - 1], innerStride = strides[r - 1]
  var out = 0
  while out < total {
    for j in 0..<inner { body(out + j, inIndex + j * innerStride) }
    out += inner
    var axis = r - 2
    while axis >= 0 {
      counter[axis] += 1
      inIndex += strides[axis]
      if counter[axis] < target[axis] { break }
      inIndex -= strides[axis] * target[axis]
      counter[axis] = 0
      axis -= 1
    }
  }
}

/// `t` broadcast to `target` (which must be a broadcast of t's shape).
func broadcastTensor(_ t: Tensor, to target: [Int]) -> Tensor {
  if t.shape == target { return t }
  let src = t.floats
  var out = [Float](repeating: 0, count: target.reduce(1, *))
  forEachBroadcast(target, paddedBroadcastStrides(t.shape, to: target)) { o, i in out[o] = src[i] }
  return Tensor(shape: target, floats: out)
}

/// The gradient of a broadcast: `grad` (of the broadcast shape) summed back to `shape`.
func sumToShape(_ grad: Tensor, _ shape: [Int]) -> Tensor {
  if grad.shape == shape { return grad }
  let g = grad.floats
  var out = [Float](repeating: 0, count: shape.reduce(1, *))
  forEachBroadcast(grad.shape, paddedBroadcastStrides(shape, to: grad.shape)) { o, i in out[i] += g[o] }
  return Tensor(shape: shape, floats: out)
}

/// Add: Y = A + B (broadcast). Backward: dA = dY summed to A's shape, dB likewise.
let addOp = DifferentiableOp { node, inputs, _ in
  let a = try node.input(inputs, 0), b = try node.input(inputs, 1)
  guard let shape = broadcastShapeOrNil(a.shape, b.shape) else {
    throw node.shapeError("shapes broadcastable with \(a.shape)", b.shape)
  }
  let y: Tensor
  if a.shape == b.shape {
    y = zipFloats(a, b, +)
  } else {
    let av = a.floats, bv = b.floats
    var out = [Float](repeating: 0, count: shape.reduce(1, *))
    let sa = paddedBroadcastStrides(a.shape, to: shape), sb = paddedBroadcastStrides(b.shape, to: shape)
    forEachBroadcast(shape, sa) { o, i in out[o] = av[i] }
    forEachBroadcast(shape, sb) { o, i in out[o] += bv[i] }
    y = Tensor(shape: shape, floats: out)
  }
  return OpStep(outputs: [y]) { grads in
    guard let dy = grads[0] else { return [nil, nil] }
    return [sumToShape(dy, a.shape), sumToShape(dy, b.shape)]
  }
}
