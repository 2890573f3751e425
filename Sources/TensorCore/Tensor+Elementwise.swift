import Foundation

// Broadcasting binary ops (numpy / ONNX multidirectional broadcasting), unary maps and scalar ops.
// Float32 is the fast path (SIMD16 inner loops, parallel over ThreadPool.shared above `parallelThreshold`
// elements); Int64 works for add/sub/mul/div/maximum/minimum (ONNX shape arithmetic, Div truncates).

/// Elements below which elementwise kernels stay on the calling thread.
let parallelThreshold = 1 << 16

/// a + b with broadcasting (float32 or int64).
public func add(_ a: Tensor, _ b: Tensor) throws -> Tensor {
  try binary(a, b, "add", { $0 + $1 }, { $0 + $1 }, { $0 &+ $1 })
}
/// a − b with broadcasting (float32 or int64).
public func sub(_ a: Tensor, _ b: Tensor) throws -> Tensor {
  try binary(a, b, "sub", { $0 - $1 }, { $0 - $1 }, { $0 &- $1 })
}
/// a · b with broadcasting (float32 or int64).
public func mul(_ a: Tensor, _ b: Tensor) throws -> Tensor {
  try binary(a, b, "mul", { $0 * $1 }, { $0 * $1 }, { $0 &* $1 })
}
/// a / b with broadcasting; int64 division truncates toward zero and x/0 is 0 (no trap).
public func div(_ a: Tensor, _ b: Tensor) throws -> Tensor {
  try binary(a, b, "div", { $0 / $1 }, { $0 / $1 }, { $1 == 0 ? 0 : $0 / $1 })
}
/// Elementwise max with broadcasting (float32 or int64).
public func maximum(_ a: Tensor, _ b: Tensor) throws -> Tensor {
  try binary(
    a, b, "maximum", { $0.replacing(with: $1, where: $0 .< $1) }, { Swift.max($0, $1) }, { Swift.max($0, $1) }
  )
}
/// Elementwise min with broadcasting (float32 or int64).
public func minimum(_ a: Tensor, _ b: Tensor) throws -> Tensor {
  try binary(
    a, b, "minimum", { $0.replacing(with: $1, where: $1 .< $0) }, { Swift.min($0, $1) }, { Swift.min($0, $1) }
  )
}
/// a ** b with broadcasting (float32; int64 inputs are computed in Double and truncated).
public func pow(_ a: Tensor, _ b: Tensor) throws -> Tensor {
  try binary(
    a, b, "pow", nil, { Foundation.powf($0, $1) },
    { Int64(Foundation.pow(Double($0), Double($1))) })
}

/// Any float op with broadcasting: out[i] = op(a[ia], b[ib]). Inputs are converted to float32.
public func broadcast(_ a: Tensor, _ b: Tensor, _ op: (Float, Float) -> Float) throws -> Tensor {
  let fa = a.dtype == .float32 ? a : a.converted(to: .float32)
  let fb = b.dtype == .float32 ? b : b.converted(to: .float32)
  return try binaryFloat(fa, fb, "broadcast", nil, op)
}

/// The scalar definition of broadcasting binary ops: one index computation per output element.
public func broadcastReference(_ a: Tensor, _ b: Tensor, _ op: (Float, Float) -> Float) throws -> Tensor {
  let shape = try broadcastShape(a.shape, b.shape)
  let sa = broadcastStrides(a.shape, to: shape)
  let sb = broadcastStrides(b.shape, to: shape)
  let outStrides = Tensor.strides(of: shape)
  let (x, y) = (a.asFloats(), b.asFloats())
  var out = [Float](repeating: 0, count: Tensor.elementCount(shape))
  for i in 0..<out.count {
    var (ia, ib, rest) = (0, 0, i)
    for axis in 0..<shape.count {
      let index = rest / outStrides[axis]
      rest %= outStrides[axis]
      ia += index * sa[axis]
      ib += index * sb[axis]
    }
    out[i] = op(x[ia], y[ib])
  }
  return Tensor(shape: shape, floats: out)
}

extension Tensor {
  /// f applied to every element (float32; other dtypes are converted to float32 first).
  public func map(_ f: (Float) -> Float) -> Tensor {
    let x = dtype == .float32 ? floats : asFloats()
    return Tensor(shape: shape, floats: x.map(f))
  }

  public func adding(_ s: Float) -> Tensor { mapSIMD(self, { $0 + s }, { $0 + s }) }
  public func subtracting(_ s: Float) -> Tensor { mapSIMD(self, { $0 - s }, { $0 - s }) }
  public func multiplied(by s: Float) -> Tensor { mapSIMD(self, { $0 * s }, { $0 * s }) }
  public func divided(by s: Float) -> Tensor { mapSIMD(self, { $0 / s }, { $0 / s }) }
}

/// Float32 unary kernel: `vector` on SIMD16 chunks, `scalar` on the tail; parallel for large tensors.
@inline(__always)
func mapSIMD(
  _ x: Tensor, _ vector: (SIMD16<Float>) -> SIMD16<Float>, _ scalar: (Float) -> Float
) -> Tensor {
  let input = x.dtype == .float32 ? x.floats : x.asFloats()
  let n = input.count
  let out = [Float](unsafeUninitializedCapacity: n) { buffer, initialized in
    input.withUnsafeBufferPointer { src in
      guard let s = src.baseAddress, let d = buffer.baseAddress else { return }
      parallelRanges(n) { start, end in
        var i = start
        while i + 16 <= end {
          let v = UnsafeRawPointer(s + i).loadUnaligned(as: SIMD16<Float>.self)
          UnsafeMutableRawPointer(d + i).storeBytes(of: vector(v), as: SIMD16<Float>.self)
          i += 16
        }
        while i < end {
          d[i] = scalar(s[i])
          i += 1
        }
      }
    }
    initialized = n
  }
  return Tensor(shape: x.shape, floats: out)
}

/// Splits 0..<count into contiguous ranges (multiples of 16 long) run on ThreadPool.shared when large.
@inline(__always)
func parallelRanges(_ count: Int, _ body: (Int, Int) -> Void) {
  let threads = ThreadPool.shared.threadCount
  if count < parallelThreshold || threads <= 1 {
    body(0, count)
    return
  }
  let chunks = Swift.min(threads * 4, count / (parallelThreshold / 4))
  let per = ((count + chunks - 1) / chunks + 15) & ~15
  ThreadPool.shared.parallelFor(chunks) { c in
    let start = c * per
    let end = Swift.min(count, start + per)
    if start < end { body(start, end) }
  }
}

// MARK: - Broadcasting loops

private func binary(
  _ a: Tensor, _ b: Tensor, _ name: String,
  _ vector: ((SIMD16<Float>, SIMD16<Float>) -> SIMD16<Float>)?, _ scalar: (Float, Float) -> Float,
  _ integer: (Int64, Int64) -> Int64
) throws -> Tensor {
  switch (a.dtype, b.dtype) {
  case (.float32, .float32): return try binaryFloat(a, b, name, vector, scalar)
  case (.int64, .int64):
    let shape = try broadcastShape(a.shape, b.shape)
    let storage = binaryGeneric(a.int64s, b.int64s, a.shape, b.shape, shape, integer)
    return Tensor(shape: shape, int64s: storage)
  default:
    throw TensorError.dtypeMismatch(operation: name, expected: a.dtype, found: b.dtype)
  }
}

/// Scalar broadcasting loop for any element type, over coalesced axes.
private func binaryGeneric<T>(
  _ x: [T], _ y: [T], _ sa: [Int], _ sb: [Int], _ shape: [Int], _ op: (T, T) -> T
) -> [T] {
  let (dims, strides) = coalesce(shape, [broadcastStrides(sa, to: shape), broadcastStrides(sb, to: shape)])
  let count = Tensor.elementCount(shape)
  var out: [T] = []
  out.reserveCapacity(count)
  if count == 0 { return out }
  for i in 0..<count {
    var (ia, ib, rest) = (0, 0, i)
    for axis in stride(from: dims.count - 1, through: 0, by: -1) {
      let index = rest % dims[axis]
      rest /= dims[axis]
      ia += index * strides[0][axis]
      ib += index * strides[1][axis]
    }
    out.append(op(x[ia], y[ib]))
  }
  return out
}

@inline(__always)
private func binaryFloat(
  _ a: Tensor, _ b: Tensor, _ name: String,
  _ vector: ((SIMD16<Float>, SIMD16<Float>) -> SIMD16<Float>)?, _ scalar: (Float, Float) -> Float
) throws -> Tensor {
  guard a.dtype == .float32, b.dtype == .float32 else {
    throw TensorError.dtypeMismatch(
      operation: name, expected: .float32, found: a.dtype == .float32 ? b.dtype : a.dtype)
  }
  let shape = try broadcastShape(a.shape, b.shape)
  let (dims, strides) = coalesce(
    shape, [broadcastStrides(a.shape, to: shape), broadcastStrides(b.shape, to: shape)])
  let count = Tensor.elementCount(shape)
  let rank = dims.count
  let inner = dims[rank - 1]
  let (ia, ib) = (strides[0][rank - 1], strides[1][rank - 1])
  let (x, y) = (a.floats, b.floats)
  let out = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
    x.withUnsafeBufferPointer { xb in
      y.withUnsafeBufferPointer { yb in
        guard count > 0, let px = xb.baseAddress, let py = yb.baseAddress, let d = buffer.baseAddress else {
          return
        }
        parallelRanges(count) { start, end in
          var position = start
          while position < end {
            // offsets of the row that holds `position`
            var row = position / inner
            var (oa, ob) = (0, 0)
            for axis in stride(from: rank - 2, through: 0, by: -1) {
              let index = row % dims[axis]
              row /= dims[axis]
              oa += index * strides[0][axis]
              ob += index * strides[1][axis]
            }
            let col = position % inner
            let n = Swift.min(inner - col, end - position)
            innerLoop(
              px + oa + col * ia, ia, py + ob + col * ib, ib, d + position, n, vector, scalar)
            position += n
          }
        }
      }
    }
    initialized = count
  }
  return Tensor(shape: shape, floats: out)
}

/// d[j] = op(x[j·sx], y[j·sy]) for j in 0..<n, with SIMD16 when strides are 0 or 1.
@inline(__always)
private func innerLoop(
  _ x: UnsafePointer<Float>, _ sx: Int, _ y: UnsafePointer<Float>, _ sy: Int,
  _ d: UnsafeMutablePointer<Float>, _ n: Int,
  _ vector: ((SIMD16<Float>, SIMD16<Float>) -> SIMD16<Float>)?, _ scalar: (Float, Float) -> Float
) {
  var j = 0
  if let vector, sx <= 1, sy <= 1, sx >= 0, sy >= 0 {
    let splatX = SIMD16<Float>(repeating: x[0])
    let splatY = SIMD16<Float>(repeating: y[0])
    while j + 16 <= n {
      let vx = sx == 1 ? UnsafeRawPointer(x + j).loadUnaligned(as: SIMD16<Float>.self) : splatX
      let vy = sy == 1 ? UnsafeRawPointer(y + j).loadUnaligned(as: SIMD16<Float>.self) : splatY
      UnsafeMutableRawPointer(d + j).storeBytes(of: vector(vx, vy), as: SIMD16<Float>.self)
      j += 16
    }
  }
  while j < n {
    d[j] = scalar(x[j * sx], y[j * sy])
    j += 1
  }
}
