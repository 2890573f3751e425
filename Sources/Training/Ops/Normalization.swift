import ModelGraph
import TensorCore

#if canImport(Glibc)
  import Glibc
#endif

/// BatchNormalization (ONNX BatchNormalization-15), LayerNormalization-17 and Softmax-13, forward
/// and backward. Shapes: x [N, C, spatial…] for BatchNorm, rows of D = Π shape[axis...] for LayerNorm.

/// The normalisation backward shared by BatchNorm (training) and LayerNorm, for one group of M
/// values: dx = invStd/M · (M·g − Σg − x̂·Σ(g·x̂)) where g = dy·scale (Ioffe & Szegedy 2015, eq. after
/// Alg. 1, rearranged).
@inline(__always)
func normalizedBackward(g: [Float], xhat: [Float], invStd: Float, count m: Int) -> [Float] {
  var sumG: Float = 0, sumGX: Float = 0
  for i in 0..<m {
    sumG += g[i]
    sumGX += g[i] * xhat[i]
  }
  let k = invStd / Float(m)
  return (0..<m).map { k * (Float(m) * g[$0] - sumG - xhat[$0] * sumGX) }
}

/// BatchNormalization: y = scale·(x − μ)/√(σ² + ε) + B per channel.
/// Evaluation: μ, σ² = running mean/var (inputs 3, 4). Training: batch statistics over N and the
/// spatial axes; running stats updated as PyTorch does, r ← momentum·r + (1 − momentum)·stat, with the
/// unbiased batch variance for the running variance (ONNX momentum 0.9 = PyTorch momentum 0.1).
let batchNormOp = DifferentiableOp(nonDifferentiableInputs: [3, 4]) { node, inputs, context in
  let x = try node.input(inputs, 0), scale = try node.input(inputs, 1), shift = try node.input(inputs, 2)
  let runMean = try node.input(inputs, 3), runVar = try node.input(inputs, 4)
  let eps = try node.float("epsilon", default: 1e-5), momentum = try node.float("momentum", default: 0.9)
  guard x.rank >= 2 else { throw node.shapeError("[N, C, …]", x.shape) }
  let (n, c) = (x.shape[0], x.shape[1]), size = x.shape[2...].reduce(1, *)
  for t in [scale, shift, runMean, runVar] where t.count != c { throw node.shapeError("[\(c)]", t.shape) }
  let xv = x.floats, gamma = scale.floats, beta = shift.floats
  let training = context.training
  let m = n * size
  var mean = runMean.floats, variance = runVar.floats
  // channel ch, sample img: elements xv[(img·C + ch)·size ..< +size]
  func forEachInChannel(_ ch: Int, _ body: (Int) -> Void) {
    for img in 0..<n {
      let o = (img * c + ch) * size
      for i in 0..<size { body(o + i) }
    }
  }
  if training {
    var newMean = mean, newVar = variance
    for ch in 0..<c {
      var s: Double = 0
      forEachInChannel(ch) { s += Double(xv[$0]) }
      let mu = s / Double(m)
      var ss: Double = 0
      forEachInChannel(ch) { ss += (Double(xv[$0]) - mu) * (Double(xv[$0]) - mu) }
      mean[ch] = Float(mu)
      variance[ch] = Float(ss / Double(m))
      let unbiased = Float(ss / Double(max(m - 1, 1)))
      newMean[ch] = momentum * newMean[ch] + (1 - momentum) * Float(mu)
      newVar[ch] = momentum * newVar[ch] + (1 - momentum) * unbiased
    }
    context.stateUpdates[node.inputs[3]] = Tensor(shape: runMean.shape, floats: newMean)
    context.stateUpdates[node.inputs[4]] = Tensor(shape: runVar.shape, floats: newVar)
  }
  let invStd = variance.map { 1 / ($0 + eps).squareRoot() }
  var xhat = [Float](repeating: 0, count: xv.count), y = xhat
  for ch in 0..<c {
    forEachInChannel(ch) { i in
      xhat[i] = (xv[i] - mean[ch]) * invStd[ch]
      y[i] = gamma[ch] * xhat[i] + beta[ch]
    }
  }
  var outputs = [Tensor(shape: x.shape, floats: y)]
  if node.outputs.count > 1 {
    outputs += [
      context.stateUpdates[node.inputs[3]] ?? runMean, context.stateUpdates[node.inputs[4]] ?? runVar,
    ]
  }
  return OpStep(outputs: outputs) { grads in
    guard let dy = grads[0]?.floats else { return [nil, nil, nil, nil, nil] }
    var dx = [Float](repeating: 0, count: xv.count)
    var dGamma = [Float](repeating: 0, count: c), dBeta = dGamma
    for ch in 0..<c {
      var idx: [Int] = []
      idx.reserveCapacity(m)
      forEachInChannel(ch) { idx.append($0) }
      for i in idx {
        dGamma[ch] += dy[i] * xhat[i]
        dBeta[ch] += dy[i]
      }
      if training {
        let g = idx.map { dy[$0] * gamma[ch] }
        let d = normalizedBackward(g: g, xhat: idx.map { xhat[$0] }, invStd: invStd[ch], count: m)
        for (j, i) in idx.enumerated() { dx[i] = d[j] }
      } else {
        for i in idx { dx[i] = dy[i] * gamma[ch] * invStd[ch] }
      }
    }
    return [
      Tensor(shape: x.shape, floats: dx), Tensor(shape: scale.shape, floats: dGamma),
      Tensor(shape: shift.shape, floats: dBeta), nil, nil,
    ]
  }
}

/// LayerNormalization: each row of D = Π shape[axis…] elements is normalised to mean 0, variance 1
/// (biased), then y = x̂·scale + bias (scale/bias hold D elements).
let layerNormOp = DifferentiableOp { node, inputs, _ in
  let x = try node.input(inputs, 0), scale = try node.input(inputs, 1)
  let bias = try node.optionalInput(inputs, 2)
  let axis = try normalizedAxis(try node.int("axis", default: -1), rank: x.rank, node: node)
  let eps = try node.float("epsilon", default: 1e-5)
  let d = x.shape[axis...].reduce(1, *), rows = x.count / max(d, 1)
  guard scale.count == d, bias == nil || bias!.count == d else {
    throw node.shapeError("scale/bias of \(d) elements", scale.shape)
  }
  let xv = x.floats, gamma = scale.floats, beta = bias?.floats ?? [Float](repeating: 0, count: d)
  var xhat = [Float](repeating: 0, count: xv.count), y = xhat
  var invStd = [Float](repeating: 0, count: rows), means = invStd
  for r in 0..<rows {
    var s: Float = 0
    for i in 0..<d { s += xv[r * d + i] }
    let mu = s / Float(d)
    var ss: Float = 0
    for i in 0..<d { ss += (xv[r * d + i] - mu) * (xv[r * d + i] - mu) }
    let inv = 1 / (ss / Float(d) + eps).squareRoot()
    (means[r], invStd[r]) = (mu, inv)
    for i in 0..<d {
      xhat[r * d + i] = (xv[r * d + i] - mu) * inv
      y[r * d + i] = xhat[r * d + i] * gamma[i] + beta[i]
    }
  }
  let statShape = Array(x.shape[..<axis]) + [Int](repeating: 1, count: x.rank - axis)
  let outputs = [
    Tensor(shape: x.shape, floats: y), Tensor(shape: statShape, floats: means),
    Tensor(shape: statShape, floats: invStd),
  ]
  return OpStep(outputs: Array(outputs.prefix(max(1, node.outputs.count)))) { grads in
    guard let dy = grads[0]?.floats else { return [nil, nil, nil] }
    var dx = [Float](repeating: 0, count: xv.count)
    var dGamma = [Float](repeating: 0, count: d), dBeta = dGamma
    for r in 0..<rows {
      let row = r * d
      for i in 0..<d {
        dGamma[i] += dy[row + i] * xhat[row + i]
        dBeta[i] += dy[row + i]
      }
      let g = (0..<d).map { dy[row + $0] * gamma[$0] }
      let dr = normalizedBackward(g: g, xhat: Array(xhat[row..<(row + d)]), invStd: invStd[r], count: d)
      for i in 0..<d { dx[row + i] = dr[i] }
    }
    return [
      Tensor(shape: x.shape, floats: dx), Tensor(shape: scale.shape, floats: dGamma),
      bias.map { Tensor(shape: $0.shape, floats: dBeta) },
    ]
  }
}

/// Softmax along `axis` (default −1): y = e^(x − max) / Σ e^(x − max).
/// Backward: dx = y · (dy − Σ_axis dy·y).
let softmaxOp = DifferentiableOp { node, inputs, _ in
  let x = try node.input(inputs, 0)
  let axis = try normalizedAxis(try node.int("axis", default: -1), rank: x.rank, node: node)
  let n = x.shape[axis], inner = x.shape[(axis + 1)...].reduce(1, *)
  let outer = x.count / max(n * inner, 1)
  let xv = x.floats
  var y = [Float](repeating: 0, count: xv.count)
  for o in 0..<outer {
    for j in 0..<inner {
      let base = o * n * inner + j
      var mx = -Float.infinity
      for i in 0..<n { mx = max(mx, xv[base + i * inner]) }
      var s: Float = 0
      for i in 0..<n {
        let e = expf(xv[base + i * inner] - mx)
        y[base + i * inner] = e
        s += e
      }
      for i in 0..<n { y[base + i * inner] /= s }
    }
  }
  return OpStep(outputs: [Tensor(shape: x.shape, floats: y)]) { grads in
    guard let dy = grads[0]?.floats else { return [nil] }
    var dx = [Float](repeating: 0, count: xv.count)
    for o in 0..<outer {
      for j in 0..<inner {
        let base = o * n * inner + j
        var dot: Float = 0
        for i in 0..<n { dot += dy[base + i * inner] * y[base + i * inner] }
        for i in 0..<n { dx[base + i * inner] = y[base + i * inner] * (dy[base + i * inner] - dot) }
      }
    }
    return [Tensor(shape: x.shape, floats: dx)]
  }
}
