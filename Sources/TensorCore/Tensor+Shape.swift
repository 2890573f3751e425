// Shape ops with ONNX semantics (Transpose, Slice, Concat, Split, Expand, Gather). All are dtype-generic:
// they move whole elements, so Int64 shape tensors and raw-byte tensors work like Float32 ones.

/// numpy/ONNX multidirectional broadcasting: shapes are right-aligned; each pair of dims must be equal
/// or one of them 1. `broadcastShape([2, 1, 4], [3, 1]) == [2, 3, 4]`.
public func broadcastShape(_ a: [Int], _ b: [Int]) throws -> [Int] {
  let rank = max(a.count, b.count)
  var out = [Int](repeating: 1, count: rank)
  for i in 0..<rank {
    let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
    let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
    guard da == db || da == 1 || db == 1 else {
      throw TensorError.shapeMismatch(
        operation: "broadcast", expected: "shapes compatible with \(a)", found: "\(b)")
    }
    out[i] = da == 1 ? db : da
  }
  return out
}

/// Strides (in elements) that read a tensor of `shape` as if it had `target` shape: 0 on broadcast axes.
func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
  let own = Tensor.strides(of: shape)
  let lead = target.count - shape.count
  return (0..<target.count).map { i in
    i < lead || shape[i - lead] == 1 ? 0 : own[i - lead]
  }
}

extension Tensor {
  /// ONNX Transpose: out.shape[i] = shape[perm[i]]. `perm` nil reverses the axes.
  public func transposed(perm: [Int]? = nil) throws -> Tensor {
    let perm = perm ?? Array((0..<rank).reversed())
    guard perm.count == rank, Set(perm) == Set(0..<rank) else {
      throw TensorError.invalidArgument(
        operation: "transpose", message: "perm \(perm) is not a permutation of 0..<\(rank) (shape \(shape))")
    }
    let own = Tensor.strides(of: shape)
    let newShape = perm.map { shape[$0] }
    return Tensor(
      shape: newShape, storage: storage.strided(shape: newShape, strides: perm.map { own[$0] }, offset: 0))
  }

  /// ONNX Slice: for each (start, end, axis, step), negative indices count from the end, then starts/ends
  /// are clamped to [0, dim] (step > 0) or [0, dim-1] / [-1, dim-1] (step < 0). Step 0 throws.
  public func slice(starts: [Int], ends: [Int], axes: [Int]? = nil, steps: [Int]? = nil) throws -> Tensor {
    let axes = axes ?? Array(0..<starts.count)
    let steps = steps ?? [Int](repeating: 1, count: starts.count)
    guard starts.count == ends.count, axes.count == starts.count, steps.count == starts.count else {
      throw TensorError.invalidArgument(
        operation: "slice",
        message: "starts \(starts), ends \(ends), axes \(axes), steps \(steps) differ in length")
    }
    let own = Tensor.strides(of: shape)
    var newShape = shape
    var strides = own
    var offset = 0
    var seen = Set<Int>()
    for i in 0..<axes.count {
      let axis = try Tensor.normalizedAxis(axes[i], rank: rank, operation: "slice")
      guard seen.insert(axis).inserted else {
        throw TensorError.invalidArgument(operation: "slice", message: "axis \(axes[i]) repeated in \(axes)")
      }
      let dim = shape[axis]
      let step = steps[i]
      guard step != 0 else {
        throw TensorError.invalidArgument(operation: "slice", message: "step 0 on axis \(axis)")
      }
      var start = starts[i] < 0 ? starts[i] &+ dim : starts[i]
      var end = ends[i] < 0 ? ends[i] &+ dim : ends[i]
      if step > 0 {
        start = min(max(start, 0), dim)
        end = min(max(end, 0), dim)
      } else {
        start = min(max(start, 0), dim - 1)
        end = min(max(end, -1), dim - 1)
      }
      let n = step > 0 ? (end - start + step - 1) / step : (start - end - step - 1) / (-step)
      newShape[axis] = max(0, n)
      if newShape[axis] > 0 { offset += start * own[axis] }
      strides[axis] = own[axis] * step
    }
    return Tensor(
      shape: newShape, storage: storage.strided(shape: newShape, strides: strides, offset: offset))
  }

  /// ONNX Expand: broadcasts to broadcastShape(shape, target) (the target may have 1s where self has more).
  public func expand(to target: [Int]) throws -> Tensor {
    let newShape = try broadcastShape(shape, target)
    return Tensor(
      shape: newShape,
      storage: storage.strided(shape: newShape, strides: broadcastStrides(shape, to: newShape), offset: 0))
  }

  /// ONNX Split along `axis` into pieces of the given sizes (their sum must equal the axis length).
  public func split(sizes: [Int], axis: Int = 0) throws -> [Tensor] {
    let a = try Tensor.normalizedAxis(axis, rank: rank, operation: "split")
    guard sizes.reduce(0, +) == shape[a], sizes.allSatisfy({ $0 >= 0 }) else {
      throw TensorError.shapeMismatch(
        operation: "split", expected: "sizes summing to \(shape[a]) (axis \(a) of \(shape))",
        found: "\(sizes)")
    }
    var pieces: [Tensor] = []
    var start = 0
    for size in sizes {
      pieces.append(try slice(starts: [start], ends: [start + size], axes: [a]))
      start += size
    }
    return pieces
  }

  /// ONNX Split with `num_outputs`: equal pieces of ceil(dim / parts); the last one may be smaller.
  public func split(parts: Int, axis: Int = 0) throws -> [Tensor] {
    let a = try Tensor.normalizedAxis(axis, rank: rank, operation: "split")
    guard parts > 0, parts <= max(shape[a], 1) else {
      throw TensorError.invalidArgument(
        operation: "split", message: "\(parts) parts for axis \(a) of length \(shape[a]) (shape \(shape))")
    }
    let chunk = (shape[a] + parts - 1) / parts
    var sizes = [Int](repeating: chunk, count: parts)
    sizes[parts - 1] = shape[a] - chunk * (parts - 1)
    guard sizes[parts - 1] >= 0 else {
      throw TensorError.invalidArgument(
        operation: "split", message: "axis \(a) of length \(shape[a]) cannot be split into \(parts) parts")
    }
    return try split(sizes: sizes, axis: a)
  }
}

/// ONNX Concat along `axis`: all inputs share dtype and every other dim.
public func concat(_ tensors: [Tensor], axis: Int) throws -> Tensor {
  guard let first = tensors.first else {
    throw TensorError.invalidArgument(operation: "concat", message: "no inputs")
  }
  let a = try Tensor.normalizedAxis(axis, rank: first.rank, operation: "concat")
  var total = 0
  for t in tensors {
    guard t.dtype == first.dtype else {
      throw TensorError.dtypeMismatch(operation: "concat", expected: first.dtype, found: t.dtype)
    }
    var s = t.shape
    var f = first.shape
    if s.count == f.count { s[a] = 0; f[a] = 0 }
    guard s == f else {
      throw TensorError.shapeMismatch(
        operation: "concat", expected: "\(first.shape) except axis \(a)", found: "\(t.shape)")
    }
    total += t.shape[a]
  }
  var outShape = first.shape
  outShape[a] = total
  let outer = first.shape[..<a].reduce(1, *)
  let innerAfter = first.shape[(a + 1)...].reduce(1, *)
  let width = first.storage.elementWidth
  let outCount = Tensor.elementCount(outShape)
  // Each input contributes `outer` blocks of shape[a]·innerAfter contiguous elements.
  let rowBytes = total * innerAfter * width
  let result = first.storage.remapped(count: outCount) { _, dst in
    var columnBytes = 0
    for t in tensors {
      let block = t.shape[a] * innerAfter * width
      t.storage.withRawBytes { src in
        for o in 0..<outer where block > 0 {
          (dst + o * rowBytes + columnBytes).copyMemory(from: src + o * block, byteCount: block)
        }
      }
      columnBytes += block
    }
  }
  return Tensor(shape: outShape, storage: result)
}

/// ONNX Gather: out.shape = data.shape[..<axis] + indices.shape + data.shape[(axis+1)...].
/// Indices are integers (any integer dtype; float indices are truncated); negative ones count from the end.
public func gather(_ data: Tensor, indices: Tensor, axis: Int = 0) throws -> Tensor {
  let a = try Tensor.normalizedAxis(axis, rank: data.rank, operation: "gather")
  let dim = data.shape[a]
  let idx = try indices.asInt64s().map { i -> Int in
    let j = i < 0 ? Int(i) + dim : Int(i)
    guard j >= 0, j < dim else {
      throw TensorError.invalidArgument(
        operation: "gather", message: "index \(i) out of range for axis \(a) of shape \(data.shape)")
    }
    return j
  }
  let outer = data.shape[..<a].reduce(1, *)
  let inner = data.shape[(a + 1)...].reduce(1, *)
  let width = data.storage.elementWidth
  let outShape = Array(data.shape[..<a]) + indices.shape + Array(data.shape[(a + 1)...])
  let block = inner * width
  let storage = data.storage.remapped(count: Tensor.elementCount(outShape)) { src, dst in
    var out = dst
    for o in 0..<outer {
      for j in idx {
        out.copyMemory(from: src + (o * dim + j) * block, byteCount: block)
        out += block
      }
    }
  }
  return Tensor(shape: outShape, storage: storage)
}

extension Tensor.Storage {
  func withRawBytes<R>(_ body: (UnsafeRawPointer) -> R) -> R {
    func run<T>(_ values: [T]) -> R {
      values.withUnsafeBytes { raw in
        body(raw.baseAddress ?? UnsafeRawPointer(bitPattern: 0x10)!)
      }
    }
    switch self {
    case .float32(let v): return run(v)
    case .int64(let v): return run(v)
    case .bytes(_, let b): return run(b)
    }
  }
}
