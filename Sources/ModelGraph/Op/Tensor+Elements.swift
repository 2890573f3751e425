import TensorCore

/// Element-level helpers the op implementations share: in-place access, broadcasting, and strided
/// gathers that work on every storage kind (float32, int64, raw bytes of any dtype).
extension Tensor {
  /// Moves the Float32 elements out (the tensor is left empty). When this tensor held the only
  /// reference, the returned array can be mutated without a copy.
  package mutating func takeFloats() -> [Float] {
    guard case .float32(let values) = storage else {
      preconditionFailure("takeFloats on a \(dtype.rawValue) tensor of shape \(shape)")
    }
    storage = .float32([])
    return values
  }

  /// A bool tensor (`.bytes(.bool, …)`, one byte per element, 0 or 1).
  package init(shape: [Int], bools: [Bool]) {
    // Cannot fail: one byte per element by construction.
    self = try! Tensor(shape: shape, dtype: .bool, bytes: bools.map { $0 ? 1 : 0 })
  }

  /// Elements as booleans (non-zero = true), whatever the dtype.
  package var bools: [Bool] {
    switch storage {
    case .bytes(.bool, let b), .bytes(.uint8, let b): return b.map { $0 != 0 }
    case .float32(let v): return v.map { $0 != 0 }
    case .int64(let v): return v.map { $0 != 0 }
    default: return asInt64s().map { $0 != 0 }
    }
  }

  /// A tensor of `dtype` and `shape` whose every element is zero.
  package static func zeros(_ shape: [Int], dtype: DType) -> Tensor {
    let n = elementCount(shape)
    switch dtype {
    case .float32: return Tensor(shape: shape, floats: [Float](repeating: 0, count: n))
    case .int64: return Tensor(shape: shape, int64s: [Int64](repeating: 0, count: n))
    default:
      return try! Tensor(shape: shape, dtype: dtype, bytes: [UInt8](repeating: 0, count: n * dtype.byteWidth))
    }
  }

  /// The elements at `offsets` (flat indices into this tensor), as a tensor of `shape`.
  package func gathering(offsets: [Int], shape newShape: [Int]) -> Tensor {
    var out = self
    out.shape = newShape
    switch storage {
    case .float32(let v):
      out.storage = .float32(v.withUnsafeBufferPointer { p in offsets.map { p[$0] } })
    case .int64(let v):
      out.storage = .int64(v.withUnsafeBufferPointer { p in offsets.map { p[$0] } })
    case .bytes(let dtype, let b):
      let w = dtype.byteWidth
      var bytes = [UInt8](repeating: 0, count: offsets.count * w)
      b.withUnsafeBufferPointer { src in
        for (i, o) in offsets.enumerated() {
          for j in 0..<w { bytes[i * w + j] = src[o * w + j] }
        }
      }
      out.storage = .bytes(dtype, bytes)
    }
    return out
  }

  /// Concatenates the flat elements of same-dtype tensors (caller sets the shape).
  package static func joined(_ parts: [Tensor], shape: [Int]) -> Tensor {
    precondition(!parts.isEmpty, "joined: no parts")
    var out = parts[0]
    out.shape = shape
    switch parts[0].storage {
    case .float32:
      var v: [Float] = []
      v.reserveCapacity(elementCount(shape))
      for p in parts { if case .float32(let x) = p.storage { v += x } }
      out.storage = .float32(v)
    case .int64:
      var v: [Int64] = []
      for p in parts { if case .int64(let x) = p.storage { v += x } }
      out.storage = .int64(v)
    case .bytes(let dtype, _):
      var v: [UInt8] = []
      for p in parts { if case .bytes(_, let x) = p.storage { v += x } }
      out.storage = .bytes(dtype, v)
    }
    return out
  }
}

/// Index arithmetic on row-major shapes.
package enum Indexing {
  /// NumPy/ONNX multidirectional broadcast of two shapes, or nil when incompatible.
  package static func broadcast(_ a: [Int], _ b: [Int]) -> [Int]? {
    let rank = max(a.count, b.count)
    var out = [Int](repeating: 1, count: rank)
    for i in 0..<rank {
      let x = i < rank - a.count ? 1 : a[i - (rank - a.count)]
      let y = i < rank - b.count ? 1 : b[i - (rank - b.count)]
      if x == y || y == 1 {
        out[i] = x
      } else if x == 1 {
        out[i] = y
      } else {
        return nil
      }
    }
    return out
  }

  /// Strides (in elements) to read a tensor of `shape` broadcast to `target`: 0 on broadcast axes.
  package static func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
    let strides = Tensor.strides(of: shape)
    let pad = target.count - shape.count
    return (0..<target.count).map { i in
      i < pad || shape[i - pad] == 1 ? 0 : strides[i - pad]
    }
  }

  /// Flat source offsets `base + Σ index[d]·strides[d]` for every index of `shape`, row-major.
  package static func offsets(shape: [Int], strides: [Int], base: Int = 0) -> [Int] {
    let n = Tensor.elementCount(shape)
    var out = [Int](repeating: 0, count: n)
    if n == 0 { return out }
    let rank = shape.count
    if rank == 0 {
      out[0] = base
      return out
    }
    let inner = shape[rank - 1]
    let innerStride = strides[rank - 1]
    var index = [Int](repeating: 0, count: rank)
    var offset = base
    var k = 0
    out.withUnsafeMutableBufferPointer { o in
      while k < n {
        for j in 0..<inner { o[k + j] = offset + j * innerStride }
        k += inner
        // Advance the odometer over the outer axes.
        var d = rank - 2
        while d >= 0 {
          index[d] += 1
          offset += strides[d]
          if index[d] < shape[d] { break }
          offset -= strides[d] * shape[d]
          index[d] = 0
          d -= 1
        }
      }
    }
    return out
  }
}
