import ModelGraph
import TensorCore

/// Training-mode forward and backward of BatchNormalization, backward of LayerNormalization, and
/// Dropout's training-mode forward and backward.
enum NormBackward {
  static func register(into table: inout [OpKey: BackwardRule]) {
    table[OpKey("BatchNormalization")] = BackwardRule(
      nonDifferentiableInputs: [3, 4], trainingForward: batchNormTraining, batchNormBackward)
    table[OpKey("LayerNormalization")] = BackwardRule { ctx in try layerNormBackward(ctx) }
    table[OpKey("Dropout")] = BackwardRule(nonDifferentiableInputs: [1, 2], trainingForward: dropoutTraining) { ctx in
      guard let mask = ctx.saved.first else { return [ctx.outputGrad(), nil, nil] }
      return [try mul(ctx.outputGrad(), mask), nil, nil]
    }
  }

  /// The normalisation backward for one group of M values x̂ with g = dy·scale:
  /// dx = invStd/M · (M·g − Σg − x̂·Σ(g·x̂)) (Ioffe & Szegedy 2015, after Alg. 1, rearranged).
  static func normalizedBackward(
    _ g: UnsafePointer<Float>, _ xhat: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, invStd: Float, count m: Int
  ) {
    var sumG: Float = 0, sumGX: Float = 0
    for i in 0..<m {
      sumG += g[i]
      sumGX += g[i] * xhat[i]
    }
    let k = invStd / Float(m)
    for i in 0..<m { dx[i] = k * (Float(m) * g[i] - sumG - xhat[i] * sumGX) }
  }

  /// Per-channel batch mean and biased variance of x [N, C, …] (accumulated in Float64).
  static func channelStatistics(_ x: Tensor) -> (mean: [Float], variance: [Float], count: Int) {
    let (n, c) = (x.shape[0], x.shape[1]), size = x.shape[2...].reduce(1, *)
    let xv = x.floats
    var mean = [Float](repeating: 0, count: c), variance = mean
    for ch in 0..<c {
      var s = 0.0, ss = 0.0
      for img in 0..<n {
        let o = (img * c + ch) * size
        for i in 0..<size { s += Double(xv[o + i]) }
      }
      let mu = s / Double(n * size)
      for img in 0..<n {
        let o = (img * c + ch) * size
        for i in 0..<size { ss += (Double(xv[o + i]) - mu) * (Double(xv[o + i]) - mu) }
      }
      mean[ch] = Float(mu)
      variance[ch] = Float(ss / Double(Swift.max(n * size, 1)))
    }
    return (mean, variance, n * size)
  }

  /// Training mode: the executor's BatchNormalization kernel run with the batch statistics; running
  /// statistics updated as PyTorch does, r ← momentum·r + (1 − momentum)·stat, the running variance
  /// from the unbiased batch variance (ONNX momentum 0.9 = PyTorch momentum 0.1).
  /// Saved: batch mean and biased variance.
  @Sendable static func batchNormTraining(_ ctx: inout OpContext, _ seed: UInt64) throws -> TrainingForward {
    let x = try ctx.floatInput(0)
    guard x.rank >= 2 else { throw ctx.shapeError(expected: "X [N, C, …]", found: "\(x.shape)") }
    let (runMean, runVar) = (try ctx.floatInput(3), try ctx.floatInput(4))
    let momentum = try ctx.float("momentum", default: 0.9)
    let (mean, variance, m) = channelStatistics(x)
    guard runMean.count == mean.count, runVar.count == mean.count else {
      throw ctx.shapeError(expected: "running mean/var of [\(mean.count)]", found: "\(runMean.shape), \(runVar.shape)")
    }
    let unbias = Float(m) / Float(Swift.max(m - 1, 1))
    let newMean = zip(runMean.floats, mean).map { momentum * $0 + (1 - momentum) * $1 }
    let newVar = zip(runVar.floats, variance).map { momentum * $0 + (1 - momentum) * $1 * unbias }
    var node = ctx.node
    node.attributes["training_mode"] = nil
    node.outputs = [node.outputs[0]]
    let meanT = Tensor(shape: runMean.shape, floats: mean), varT = Tensor(shape: runVar.shape, floats: variance)
    var inference = OpContext(node: node, opset: ctx.opset, inputs: [x, try ctx.input(1), try ctx.input(2), meanT, varT])
    guard let kernel = OpRegistry.standard[OpKey("BatchNormalization")]?.kernel else {
      preconditionFailure("BatchNormalization missing from OpRegistry.standard")
    }
    var outputs = try kernel(&inference)
    let updatedMean = Tensor(shape: runMean.shape, floats: newMean), updatedVar = Tensor(shape: runVar.shape, floats: newVar)
    if ctx.node.outputs.count > 1 { outputs += [updatedMean, updatedVar] }
    return TrainingForward(outputs: outputs, saved: [meanT, varT], stateUpdates: [3: updatedMean, 4: updatedVar])
  }

  /// y = scale·x̂ + B with x̂ = (x − μ)·invStd per channel. Training (saved batch statistics): the
  /// full normalisation backward; evaluation (running statistics): dx = dy·scale·invStd.
  @Sendable static func batchNormBackward(_ ctx: BackwardContext) throws -> [Tensor?] {
    let x = try ctx.forward.floatInput(0), scale = try ctx.forward.floatInput(1).floats
    let eps = try ctx.forward.float("epsilon", default: 1e-5)
    let training = ctx.saved.count == 2
    let mean = training ? ctx.saved[0].floats : try ctx.forward.floatInput(3).floats
    let variance = training ? ctx.saved[1].floats : try ctx.forward.floatInput(4).floats
    let (n, c) = (x.shape[0], x.shape[1]), size = x.shape[2...].reduce(1, *), m = n * size
    let xv = x.floats, dy = ctx.outputGrad().floats
    var dx = [Float](repeating: 0, count: xv.count)
    var dScale = [Float](repeating: 0, count: c), dBias = dScale
    var g = [Float](repeating: 0, count: m), xhat = g, d = g
    for ch in 0..<c {
      let invStd = 1 / (variance[ch] + eps).squareRoot()
      var j = 0
      for img in 0..<n {
        let o = (img * c + ch) * size
        for i in 0..<size {
          xhat[j] = (xv[o + i] - mean[ch]) * invStd
          g[j] = dy[o + i] * scale[ch]
          dScale[ch] += dy[o + i] * xhat[j]
          dBias[ch] += dy[o + i]
          j += 1
        }
      }
      if training {
        normalizedBackward(g, xhat, &d, invStd: invStd, count: m)
      } else {
        for i in 0..<m { d[i] = g[i] * invStd }
      }
      j = 0
      for img in 0..<n {
        let o = (img * c + ch) * size
        for i in 0..<size {
          dx[o + i] = d[j]
          j += 1
        }
      }
    }
    return [
      Tensor(shape: x.shape, floats: dx), Tensor(shape: [c], floats: dScale), Tensor(shape: [c], floats: dBias), nil, nil,
    ]
  }

  /// LayerNormalization: rows of D = Π shape[axis…] normalised (biased variance), y = x̂·scale + B
  /// (scale, B broadcast over the row).
  static func layerNormBackward(_ ctx: BackwardContext) throws -> [Tensor?] {
    let x = try ctx.forward.floatInput(0)
    let eps = try ctx.forward.float("epsilon", default: 1e-5)
    let axis = try ctx.forward.axis(try ctx.forward.int("axis", default: -1), rank: x.rank)
    let rowShape = Array(x.shape[axis...]), d = rowShape.reduce(1, *), rows = x.count / Swift.max(d, 1)
    let scale = try ctx.forward.floatInput(1).expand(to: rowShape).floats
    let xv = x.floats, dy = ctx.outputGrad().floats
    var dx = [Float](repeating: 0, count: xv.count)
    var dScale = [Float](repeating: 0, count: d), dBias = dScale
    var g = [Float](repeating: 0, count: d), xhat = g, out = g
    for r in 0..<rows {
      let o = r * d
      var s = 0.0, ss = 0.0
      for i in 0..<d { s += Double(xv[o + i]) }
      let mu = s / Double(d)
      for i in 0..<d { ss += (Double(xv[o + i]) - mu) * (Double(xv[o + i]) - mu) }
      let invStd = Float(1 / (ss / Double(d) + Double(eps)).squareRoot())
      for i in 0..<d {
        xhat[i] = (xv[o + i] - Float(mu)) * invStd
        g[i] = dy[o + i] * scale[i]
        dScale[i] += dy[o + i] * xhat[i]
        dBias[i] += dy[o + i]
      }
      normalizedBackward(g, xhat, &out, invStd: invStd, count: d)
      for i in 0..<d { dx[o + i] = out[i] }
    }
    var grads: [Tensor?] = [Tensor(shape: x.shape, floats: dx)]
    grads.append(try sumToShape(Tensor(shape: rowShape, floats: dScale), try ctx.forward.input(1).shape))
    if let bias = ctx.forward.optionalInput(2) {
      grads.append(try sumToShape(Tensor(shape: rowShape, floats: dBias), bias.shape))
    }
    return grads
  }

  /// Dropout in training mode ("inverted", as PyTorch): each element kept with probability 1 − ratio
  /// and scaled by 1/(1 − ratio); the keep mask (already scaled) is saved for the backward.
  /// Ratio: input 1 (opset ≥ 12) or attribute `ratio`, default 0.5.
  @Sendable static func dropoutTraining(_ ctx: inout OpContext, _ seed: UInt64) throws -> TrainingForward {
    let x = try ctx.floatInput(0)
    var ratio = try ctx.float("ratio", default: 0.5)
    if let r = ctx.optionalInput(1) { ratio = r.asFloats().first ?? ratio }
    guard ratio >= 0, ratio < 1 else { throw ctx.unsupported("ratio", "\(ratio) (expected 0 ≤ ratio < 1)") }
    let wantsMask = ctx.node.outputs.count > 1 && !ctx.node.outputs[1].isEmpty
    guard ratio > 0 else {
      return TrainingForward(outputs: [x] + (wantsMask ? [Tensor(shape: x.shape, bools: [Bool](repeating: true, count: x.count))] : []))
    }
    let scale = 1 / (1 - ratio)
    var rng = SeededGenerator(seed: seed)
    let keep = Tensor(shape: x.shape, floats: (0..<x.count).map { _ in rng.nextUniform() >= ratio ? scale : 0 })
    var outputs = [try mul(x, keep)]
    if wantsMask { outputs.append(Tensor(shape: x.shape, bools: keep.floats.map { $0 != 0 })) }
    return TrainingForward(outputs: outputs, saved: [keep])
  }
}
