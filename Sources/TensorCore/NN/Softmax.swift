import Foundation

// Softmax / LogSoftmax along one axis (ONNX opset ≥ 13 semantics), numerically stable:
// softmax(x)_j = e^(x_j − m) / Σ_k e^(x_k − m),  logSoftmax(x)_j = x_j − m − ln Σ_k e^(x_k − m),
// m = max_k x_k. The last-axis case (attention scores, classifier logits) runs SIMD16 rows in parallel.

public func softmax(_ x: Tensor, axis: Int = -1) throws -> Tensor {
  try softmaxKernel(x, axis: axis, log: false, "softmax")
}

public func logSoftmax(_ x: Tensor, axis: Int = -1) throws -> Tensor {
  try softmaxKernel(x, axis: axis, log: true, "logSoftmax")
}

/// The scalar definition (Double accumulation, libm exp).
public func softmaxReference(_ x: Tensor, axis: Int = -1) throws -> Tensor {
  try softmaxReferenceKernel(x, axis: axis, log: false)
}

public func logSoftmaxReference(_ x: Tensor, axis: Int = -1) throws -> Tensor {
  try softmaxReferenceKernel(x, axis: axis, log: true)
}

/// (outer, dim, inner) view of `x` around `axis`.
func axisView(_ x: Tensor, axis: Int, _ op: String) throws -> (Int, Int, Int) {
  guard x.dtype == .float32 else {
    throw TensorError.dtypeMismatch(operation: op, expected: .float32, found: x.dtype)
  }
  let a = try Tensor.normalizedAxis(axis, rank: x.rank, operation: op)
  if x.rank == 0 { return (1, 1, 1) }
  return (x.shape[..<a].reduce(1, *), x.shape[a], x.shape[(a + 1)...].reduce(1, *))
}

private func softmaxReferenceKernel(_ x: Tensor, axis: Int, log: Bool) throws -> Tensor {
  let (outer, dim, inner) = try axisView(x, axis: axis, log ? "logSoftmax" : "softmax")
  let v = x.floats
  var out = v
  for o in 0..<outer {
    for i in 0..<inner {
      let at = { (j: Int) in (o * dim + j) * inner + i }
      var m = -Double.infinity
      for j in 0..<dim { m = Swift.max(m, Double(v[at(j)])) }
      var sum = 0.0
      for j in 0..<dim { sum += Foundation.exp(Double(v[at(j)]) - m) }
      for j in 0..<dim {
        let shifted = Double(v[at(j)]) - m
        out[at(j)] = Float(log ? shifted - Foundation.log(sum) : Foundation.exp(shifted) / sum)
      }
    }
  }
  return Tensor(shape: x.shape, floats: out)
}

private func softmaxKernel(_ x: Tensor, axis: Int, log: Bool, _ op: String) throws -> Tensor {
  let (outer, dim, inner) = try axisView(x, axis: axis, op)
  if inner != 1 { return softmaxStrided(x.floats, x.shape, outer, dim, inner, log: log) }
  let input = x.floats
  let out = [Float](unsafeUninitializedCapacity: input.count) { buffer, initialized in
    input.withUnsafeBufferPointer { src in
      guard let s = src.baseAddress, let d = buffer.baseAddress, dim > 0 else { return }
      let dst = SendablePointer(d)
      let rowsPerChunk = Swift.max(1, 8192 / dim)
      let chunks = (outer + rowsPerChunk - 1) / rowsPerChunk
      let body: (Int) -> Void = { c in
        for r in (c * rowsPerChunk)..<Swift.min(outer, (c + 1) * rowsPerChunk) {
          softmaxRow(s + r * dim, dst.base + r * dim, dim, log: log)
        }
      }
      if outer * dim >= parallelThreshold / 4 && chunks > 1 {
        ThreadPool.shared.parallelFor(chunks, body)
      } else {
        for c in 0..<chunks { body(c) }
      }
    }
    initialized = input.count
  }
  return Tensor(shape: x.shape, floats: out)
}

/// row ← softmax(row + add) in place (SIMD16 exp), for fused kernels such as attention: `add` is a
/// contiguous row of `count` values (an additive attention mask) or nil.
public func softmaxInPlace(_ row: UnsafeMutablePointer<Float>, count: Int, adding add: UnsafePointer<Float>? = nil) {
  guard count > 0 else { return }
  if let add {
    var i = 0
    while i + 16 <= count {
      let v = UnsafeRawPointer(row + i).loadUnaligned(as: SIMD16<Float>.self)
      let m = UnsafeRawPointer(add + i).loadUnaligned(as: SIMD16<Float>.self)
      UnsafeMutableRawPointer(row + i).storeBytes(of: v + m, as: SIMD16<Float>.self)
      i += 16
    }
    while i < count {
      row[i] += add[i]
      i += 1
    }
  }
  softmaxRow(row, row, count, log: false)
}

/// One contiguous row of length n ≥ 1: d = softmax(s) or logSoftmax(s); s and d may be the same row.
@inline(__always)
func softmaxRow(_ s: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>, _ n: Int, log: Bool) {
  let m = rowMax(s, n)
  let vm = SIMD16<Float>(repeating: m)
  var acc = SIMD16<Float>()
  var i = 0
  while i + 16 <= n {
    let e = simdExp(UnsafeRawPointer(s + i).loadUnaligned(as: SIMD16<Float>.self) - vm)
    if !log { UnsafeMutableRawPointer(d + i).storeBytes(of: e, as: SIMD16<Float>.self) }
    acc += e
    i += 16
  }
  if i < n {
    // tail: pad with −∞ lanes (e^−∞ = 0)
    var v = SIMD16<Float>(repeating: -.infinity)
    for k in 0..<(n - i) { v[k] = s[i + k] }
    let e = simdExp(v - vm)
    if !log { for k in 0..<(n - i) { d[i + k] = e[k] } }
    acc += e
  }
  let sum = horizontalSum(acc)
  if log {
    let shift = SIMD16<Float>(repeating: m + Foundation.log(sum))
    var j = 0
    while j + 16 <= n {
      let v = UnsafeRawPointer(s + j).loadUnaligned(as: SIMD16<Float>.self)
      UnsafeMutableRawPointer(d + j).storeBytes(of: v - shift, as: SIMD16<Float>.self)
      j += 16
    }
    while j < n {
      d[j] = s[j] - shift[0]
      j += 1
    }
  } else {
    let inv = 1 / sum
    var j = 0
    while j + 16 <= n {
      let v = UnsafeRawPointer(d + j).loadUnaligned(as: SIMD16<Float>.self)
      UnsafeMutableRawPointer(d + j).storeBytes(of: v * inv, as: SIMD16<Float>.self)
      j += 16
    }
    while j < n {
      d[j] *= inv
      j += 1
    }
  }
}

/// Softmax over a non-last axis: [outer, dim, inner] blocks, SIMD16 across the contiguous inner axis.
private func softmaxStrided(
  _ input: [Float], _ shape: [Int], _ outer: Int, _ dim: Int, _ inner: Int, log: Bool
) -> Tensor {
  var out = [Float](repeating: 0, count: input.count)
  input.withUnsafeBufferPointer { src in
    out.withUnsafeMutableBufferPointer { dst in
      guard !input.isEmpty else { return }
      let (s, d) = (SendableConstPointer(src.baseAddress!), SendablePointer(dst.baseAddress!))
      let body = { (o: Int) in
        var i = 0
        while i < inner {
          let lanes = Swift.min(16, inner - i)
          let base = o * dim * inner + i
          func load(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
            if lanes == 16 { return UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self) }
            var v = SIMD16<Float>(repeating: 0)
            for k in 0..<lanes { v[k] = p[k] }
            return v
          }
          func store(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
            if lanes == 16 { UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self); return }
            for k in 0..<lanes { p[k] = v[k] }
          }
          var m = SIMD16<Float>(repeating: -.infinity)
          for j in 0..<dim {
            let v = load(s.base + base + j * inner)
            m = m.replacing(with: v, where: m .< v .| v .!= v)
          }
          var sum = SIMD16<Float>()
          for j in 0..<dim {
            let e = simdExp(load(s.base + base + j * inner) - m)
            if !log { store(e, d.base + base + j * inner) }
            sum += e
          }
          if log {
            var logSum = SIMD16<Float>()
            for k in 0..<16 { logSum[k] = Foundation.log(sum[k]) }
            let shift = m + logSum
            for j in 0..<dim { store(load(s.base + base + j * inner) - shift, d.base + base + j * inner) }
          } else {
            let inv = 1 / sum
            for j in 0..<dim {
              store(load(UnsafePointer(d.base + base + j * inner)) * inv, d.base + base + j * inner)
            }
          }
          i += 16
        }
      }
      if outer > 1 && input.count >= parallelThreshold / 4 {
        ThreadPool.shared.parallelFor(outer) { body($0) }
      } else {
        for o in 0..<outer { body(o) }
      }
    }
  }
  return Tensor(shape: shape, floats: out)
}
