import Foundation

// Normalisations. BatchNormalization (inference, ONNX, Ioffe & Szegedy 2015) over axis 1:
//   y = (x − mean[c]) / √(var[c] + ε) · scale[c] + bias[c],  x: [N, C, …]
// LayerNormalization (ONNX opset 17, Ba et al. 2016) over the trailing axes from `axis`:
//   y = (x − μ) / √(σ² + ε) · scale + bias,  μ, σ² over the D = Π shape[axis...] trailing elements.

public func batchNormInference(
  _ x: Tensor, scale: Tensor, bias: Tensor, mean: Tensor, variance: Tensor, epsilon: Float = 1e-5
) throws -> Tensor {
  let c = try batchNormChannels(x, [scale, bias, mean, variance])
  let inner = x.shape[2...].reduce(1, *)
  let (g, b, m, v) = (scale.floats, bias.floats, mean.floats, variance.floats)
  // Fold into y = x·a[c] + k[c].
  let a = (0..<c).map { g[$0] / (v[$0] + epsilon).squareRoot() }
  let k = (0..<c).map { b[$0] - m[$0] * a[$0] }
  var out = x.floats
  let n = x.shape[0]
  out.withUnsafeMutableBufferPointer { buffer in
    let d = SendablePointer(buffer.baseAddress!)
    let body: (Int) -> Void = { plane in
      let ch = plane % c
      let p = d.base + plane * inner
      let va = SIMD16<Float>(repeating: a[ch]), vk = SIMD16<Float>(repeating: k[ch])
      var i = 0
      while i + 16 <= inner {
        let v = UnsafeMutableRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
        UnsafeMutableRawPointer(p + i).storeBytes(of: v * va + vk, as: SIMD16<Float>.self)
        i += 16
      }
      while i < inner {
        p[i] = p[i] * a[ch] + k[ch]
        i += 1
      }
    }
    if n * c * inner >= parallelThreshold {
      ThreadPool.shared.parallelFor(n * c, body)
    } else {
      for plane in 0..<(n * c) { body(plane) }
    }
  }
  return Tensor(shape: x.shape, floats: out)
}

public func batchNormInferenceReference(
  _ x: Tensor, scale: Tensor, bias: Tensor, mean: Tensor, variance: Tensor, epsilon: Float = 1e-5
) throws -> Tensor {
  let c = try batchNormChannels(x, [scale, bias, mean, variance])
  let inner = x.shape[2...].reduce(1, *)
  let v = x.floats
  var out = v
  for i in 0..<v.count {
    let ch = (i / inner) % c
    let normalized =
      (Double(v[i]) - Double(mean.floats[ch]))
      / (Double(variance.floats[ch]) + Double(epsilon)).squareRoot()
    out[i] = Float(normalized * Double(scale.floats[ch]) + Double(bias.floats[ch]))
  }
  return Tensor(shape: x.shape, floats: out)
}

private func batchNormChannels(_ x: Tensor, _ params: [Tensor]) throws -> Int {
  guard x.rank >= 2, x.dtype == .float32 else {
    throw TensorError.shapeMismatch(
      operation: "batchNorm", expected: "float32 [N, C, …]", found: "\(x.dtype.rawValue) \(x.shape)")
  }
  let c = x.shape[1]
  for p in params where p.count != c || p.dtype != .float32 {
    throw TensorError.shapeMismatch(
      operation: "batchNorm", expected: "float32 [\(c)] parameters for input \(x.shape)",
      found: "\(p.dtype.rawValue) \(p.shape)")
  }
  return c
}

/// Layer normalisation; returns y only. See `layerNormWithStatistics` for μ and 1/σ.
public func layerNorm(
  _ x: Tensor, scale: Tensor, bias: Tensor? = nil, axis: Int = -1, epsilon: Float = 1e-5
) throws -> Tensor {
  try layerNormWithStatistics(x, scale: scale, bias: bias, axis: axis, epsilon: epsilon).output
}

/// Layer normalisation with ONNX's optional outputs: mean and inverse standard deviation, shaped like
/// x with the normalised axes set to 1.
public func layerNormWithStatistics(
  _ x: Tensor, scale: Tensor, bias: Tensor? = nil, axis: Int = -1, epsilon: Float = 1e-5
) throws -> (output: Tensor, mean: Tensor, invStdDev: Tensor) {
  let (rows, d, statsShape) = try layerNormShape(x, scale: scale, bias: bias, axis: axis)
  let input = x.floats
  let g = scale.floats
  let b = bias?.floats ?? [Float](repeating: 0, count: d)
  var out = [Float](repeating: 0, count: input.count)
  var means = [Float](repeating: 0, count: rows)
  var invs = [Float](repeating: 0, count: rows)
  input.withUnsafeBufferPointer { src in
    g.withUnsafeBufferPointer { gp in
      b.withUnsafeBufferPointer { bp in
        out.withUnsafeMutableBufferPointer { dst in
          means.withUnsafeMutableBufferPointer { mp in
            invs.withUnsafeMutableBufferPointer { ip in
              guard rows > 0, d > 0 else { return }
              let (s, gg, bb) = (src.baseAddress!, gp.baseAddress!, bp.baseAddress!)
              let (o, m, inv) = (
                SendablePointer(dst.baseAddress!), SendablePointer(mp.baseAddress!),
                SendablePointer(ip.baseAddress!)
              )
              let body: (Int) -> Void = { r in
                let stats = layerNormRow(s + r * d, o.base + r * d, d, gg, bb, epsilon)
                m.base[r] = stats.0
                inv.base[r] = stats.1
              }
              if rows * d >= parallelThreshold / 4 {
                ThreadPool.shared.parallelFor(rows, body)
              } else {
                for r in 0..<rows { body(r) }
              }
            }
          }
        }
      }
    }
  }
  return (
    Tensor(shape: x.shape, floats: out), Tensor(shape: statsShape, floats: means),
    Tensor(shape: statsShape, floats: invs)
  )
}

/// Layer normalisation in place over `rows` contiguous rows of length `d`: x ← (x − μ)/√(σ² + ε)·g + b,
/// g and b of length d (b nil: no shift). Rows run in parallel when the data is large.
public func layerNormInPlace(
  _ x: UnsafeMutablePointer<Float>, rows: Int, d: Int, scale g: UnsafePointer<Float>,
  bias b: UnsafePointer<Float>?, epsilon: Float
) {
  guard rows > 0, d > 0 else { return }
  let zeros = b == nil ? [Float](repeating: 0, count: d) : []
  zeros.withUnsafeBufferPointer { z in
    let (p, gg, bb) = (SendablePointer(x), SendableConstPointer(g), SendableConstPointer(b ?? z.baseAddress!))
    let rowsPerChunk = Swift.max(1, 8192 / d)
    let chunks = (rows + rowsPerChunk - 1) / rowsPerChunk
    let body: (Int) -> Void = { c in
      for r in (c * rowsPerChunk)..<Swift.min(rows, (c + 1) * rowsPerChunk) {
        _ = layerNormRow(p.base + r * d, p.base + r * d, d, gg.base, bb.base, epsilon)
      }
    }
    if rows * d >= parallelThreshold / 4 && chunks > 1 {
      ThreadPool.shared.parallelFor(chunks, body)
    } else {
      for c in 0..<chunks { body(c) }
    }
  }
}

/// One row of length d; returns (μ, 1/√(σ² + ε)). Two passes: mean, then centred variance. `s` and
/// `o` may be the same row.
@inline(__always)
func layerNormRow(
  _ s: UnsafePointer<Float>, _ o: UnsafeMutablePointer<Float>, _ d: Int,
  _ g: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ epsilon: Float
) -> (Float, Float) {
  let mean = rowSum(s, d) / Float(d)
  let vm = SIMD16<Float>(repeating: mean)
  var acc = SIMD16<Float>()
  var i = 0
  while i + 16 <= d {
    let c = UnsafeRawPointer(s + i).loadUnaligned(as: SIMD16<Float>.self) - vm
    acc = acc.addingProduct(c, c)
    i += 16
  }
  var variance = horizontalSum(acc)
  while i < d {
    let c = s[i] - mean
    variance += c * c
    i += 1
  }
  let inv = 1 / (variance / Float(d) + epsilon).squareRoot()
  let vi = SIMD16<Float>(repeating: inv)
  i = 0
  while i + 16 <= d {
    let c = UnsafeRawPointer(s + i).loadUnaligned(as: SIMD16<Float>.self) - vm
    let gv = UnsafeRawPointer(g + i).loadUnaligned(as: SIMD16<Float>.self)
    let bv = UnsafeRawPointer(b + i).loadUnaligned(as: SIMD16<Float>.self)
    UnsafeMutableRawPointer(o + i).storeBytes(of: bv.addingProduct(c * vi, gv), as: SIMD16<Float>.self)
    i += 16
  }
  while i < d {
    o[i] = (s[i] - mean) * inv * g[i] + b[i]
    i += 1
  }
  return (mean, inv)
}

public func layerNormReference(
  _ x: Tensor, scale: Tensor, bias: Tensor? = nil, axis: Int = -1, epsilon: Float = 1e-5
) throws -> Tensor {
  let (rows, d, _) = try layerNormShape(x, scale: scale, bias: bias, axis: axis)
  let v = x.floats
  var out = v
  for r in 0..<rows {
    var mean = 0.0
    for j in 0..<d { mean += Double(v[r * d + j]) }
    mean /= Double(d)
    var variance = 0.0
    for j in 0..<d { variance += (Double(v[r * d + j]) - mean) * (Double(v[r * d + j]) - mean) }
    variance /= Double(d)
    for j in 0..<d {
      let normalized = (Double(v[r * d + j]) - mean) / (variance + Double(epsilon)).squareRoot()
      out[r * d + j] = Float(normalized * Double(scale.floats[j]) + Double(bias?.floats[j] ?? 0))
    }
  }
  return Tensor(shape: x.shape, floats: out)
}

/// (rows, D, statistics shape); scale and bias must hold D elements.
private func layerNormShape(_ x: Tensor, scale: Tensor, bias: Tensor?, axis: Int) throws -> (Int, Int, [Int])
{
  let a = try Tensor.normalizedAxis(axis, rank: x.rank, operation: "layerNorm")
  let d = x.shape[a...].reduce(1, *)
  for p in [scale] + (bias.map { [$0] } ?? []) where p.count != d || p.dtype != .float32 {
    throw TensorError.shapeMismatch(
      operation: "layerNorm", expected: "float32 parameters of \(d) elements (\(Array(x.shape[a...])))",
      found: "\(p.dtype.rawValue) \(p.shape)")
  }
  guard x.dtype == .float32 else {
    throw TensorError.dtypeMismatch(operation: "layerNorm", expected: .float32, found: x.dtype)
  }
  let statsShape = (0..<x.rank).map { $0 < a ? x.shape[$0] : 1 }
  return (x.count / Swift.max(d, 1), d, statsShape)
}
