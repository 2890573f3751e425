import Foundation

// Dtype-generic element movement: every shape op (transpose, slice, expand, concat, split, gather) is a
// strided copy of whole elements, so it works for float32, int64 and raw-byte storage alike.

extension Tensor {
  /// A tensor from an explicit storage; `precondition` on an element-count mismatch.
  public init(shape: [Int], storage: Storage) {
    self.init(shape: [0], floats: [])
    precondition(
      storage.elementCount == Tensor.elementCount(shape),
      "Tensor(shape: \(shape)) needs \(Tensor.elementCount(shape)) elements, got \(storage.elementCount)")
    self.shape = shape
    self.storage = storage
  }

  /// Normalises a possibly negative axis into 0..<rank, or throws.
  static func normalizedAxis(_ axis: Int, rank: Int, operation: String) throws -> Int {
    let a = axis < 0 ? axis + rank : axis
    guard a >= 0, a < max(rank, 1) else {
      throw TensorError.invalidArgument(
        operation: operation, message: "axis \(axis) out of range for rank \(rank)")
    }
    return a
  }
}

extension Tensor.Storage {
  /// Bytes per element of this storage.
  public var elementWidth: Int {
    switch self {
    case .float32: return 4
    case .int64: return 8
    case .bytes(let dtype, _): return dtype.byteWidth
    }
  }

  public var elementCount: Int {
    switch self {
    case .float32(let v): return v.count
    case .int64(let v): return v.count
    case .bytes(let dtype, let b): return b.count / dtype.byteWidth
    }
  }

  /// A new storage of the same dtype with `count` elements, written by `body(source, destination)`.
  /// `body` must initialise every destination element.
  func remapped(
    count: Int, _ body: (UnsafeRawPointer, UnsafeMutableRawPointer) -> Void
  ) -> Tensor.Storage {
    func run<T>(_ source: [T], _ make: ([T]) -> Tensor.Storage) -> Tensor.Storage {
      if count == 0 { return make([]) }
      let out = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
        source.withUnsafeBytes { src in
          // An empty source can only feed an empty destination; keep a valid pointer regardless.
          let base = src.baseAddress ?? UnsafeRawPointer(buffer.baseAddress!)
          body(base, UnsafeMutableRawPointer(buffer.baseAddress!))
        }
        initialized = count
      }
      return make(out)
    }
    switch self {
    case .float32(let v): return run(v) { .float32($0) }
    case .int64(let v): return run(v) { .int64($0) }
    case .bytes(let dtype, let b):
      if count == 0 { return .bytes(dtype, []) }
      let width = dtype.byteWidth
      let out = [UInt8](unsafeUninitializedCapacity: count * width) { buffer, initialized in
        b.withUnsafeBytes { src in
          let base = src.baseAddress ?? UnsafeRawPointer(buffer.baseAddress!)
          body(base, UnsafeMutableRawPointer(buffer.baseAddress!))
        }
        initialized = count * width
      }
      return .bytes(dtype, out)
    }
  }

  /// out[i] = self[offset + Σ_k index_k(i) · strides[k]] for i over `shape` in row-major order.
  /// Strides are in elements and may be 0 (broadcast) or negative (reversed slice).
  func strided(shape: [Int], strides: [Int], offset: Int) -> Tensor.Storage {
    let count = Tensor.elementCount(shape)
    let width = elementWidth
    return remapped(count: count) { src, dst in
      switch width {
      case 8: stridedCopy(src, dst, UInt64.self, shape, strides, offset)
      case 4: stridedCopy(src, dst, UInt32.self, shape, strides, offset)
      case 2: stridedCopy(src, dst, UInt16.self, shape, strides, offset)
      default: stridedCopy(src, dst, UInt8.self, shape, strides, offset)
      }
    }
  }
}

/// Row-major odometer over `shape`; the innermost axis is a tight loop.
@inline(__always)
func stridedCopy<T>(
  _ src: UnsafeRawPointer, _ dst: UnsafeMutableRawPointer, _ type: T.Type,
  _ shape: [Int], _ strides: [Int], _ offset: Int
) {
  let s = src.assumingMemoryBound(to: T.self)
  let d = dst.assumingMemoryBound(to: T.self)
  let (dims, strides) = coalesce(shape, [strides])
  let count = Tensor.elementCount(dims)
  if count == 0 { return }
  let rank = dims.count
  let inner = rank == 0 ? 1 : dims[rank - 1]
  let innerStride = rank == 0 ? 0 : strides[0][rank - 1]
  var index = [Int](repeating: 0, count: max(rank - 1, 0))
  var base = offset
  var out = 0
  while out < count {
    if innerStride == 1 {
      (d + out).update(from: s + base, count: inner)
    } else {
      var p = base
      for j in 0..<inner {
        d[out + j] = s[p]
        p += innerStride
      }
    }
    out += inner
    // advance the odometer over the outer axes
    var axis = rank - 2
    while axis >= 0 {
      index[axis] += 1
      base += strides[0][axis]
      if index[axis] < dims[axis] { break }
      base -= strides[0][axis] * dims[axis]
      index[axis] = 0
      axis -= 1
    }
  }
}

/// Merges adjacent axes that are contiguous for every operand (stride[i] == stride[i+1]·dim[i+1]) and
/// drops size-1 axes, so inner loops run as long as possible. Returns the merged shape and strides.
func coalesce(_ shape: [Int], _ strides: [[Int]]) -> ([Int], [[Int]]) {
  var dims: [Int] = []
  var out: [[Int]] = strides.map { _ in [] }
  for axis in 0..<shape.count where shape[axis] != 1 {
    if let last = dims.last,
      strides.indices.allSatisfy({ strides[$0][axis] * shape[axis] == out[$0].last! })
    {
      dims[dims.count - 1] = last * shape[axis]
      for k in strides.indices { out[k][out[k].count - 1] = strides[k][axis] }
    } else {
      dims.append(shape[axis])
      for k in strides.indices { out[k].append(strides[k][axis]) }
    }
  }
  if dims.isEmpty {
    dims = [1]
    out = strides.map { _ in [0] }
  }
  return (dims, out)
}
