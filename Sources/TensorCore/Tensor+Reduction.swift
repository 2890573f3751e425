// Reductions along a set of axes (ONNX ReduceSum/ReduceMean/ReduceMax/ReduceMin, ArgMax).
// Named reduceX (not max/min) so that no Tensor member shadows Swift.max/min in Tensor extensions.
// `axes` nil or empty reduces over every axis (ONNX default, noop_with_empty_axes = 0).
// The fast path reduces a contiguous trailing block with SIMD16; other axis sets go through a
// strided accumulate. Sums accumulate in Float32 per output (pairwise within SIMD lanes).

public enum ReductionKind: Sendable {
  case sum, mean, max, min
}

extension Tensor {
  public func reduceSum(axes: [Int]? = nil, keepDims: Bool = true) throws -> Tensor {
    try reduce(.sum, axes: axes, keepDims: keepDims)
  }
  public func reduceMean(axes: [Int]? = nil, keepDims: Bool = true) throws -> Tensor {
    try reduce(.mean, axes: axes, keepDims: keepDims)
  }
  public func reduceMax(axes: [Int]? = nil, keepDims: Bool = true) throws -> Tensor {
    try reduce(.max, axes: axes, keepDims: keepDims)
  }
  public func reduceMin(axes: [Int]? = nil, keepDims: Bool = true) throws -> Tensor {
    try reduce(.min, axes: axes, keepDims: keepDims)
  }

  /// Reduces float32 data over `axes` (negative allowed). keepDims keeps reduced axes as size 1.
  public func reduce(_ kind: ReductionKind, axes: [Int]? = nil, keepDims: Bool = true) throws -> Tensor {
    let (reduced, outShape, keptShape) = try reductionShapes(axes, keepDims: keepDims, "reduce")
    let x = dtype == .float32 ? floats : asFloats()
    let reducedCount = reduced.reduce(1) { $0 * (shape[$1]) }
    let first = reduced.min() ?? rank
    let trailing = reduced.sorted() == Array(first..<rank)
    var out: [Float]
    let last = reduced.max() ?? -1
    let contiguous = !reduced.isEmpty && reduced.sorted() == Array(first...last)
    if trailing, count > 0 {
      out = reduceRows(x, rows: count / Swift.max(reducedCount, 1), length: reducedCount, kind)
    } else if contiguous, count > 0 {
      let inner = shape[(last + 1)...].reduce(1, *)
      out = reduceMiddle(x, outer: count / (reducedCount * inner), length: reducedCount, inner: inner, kind)
    } else {
      out = reduceStrided(x, shape: shape, keptShape: keptShape, kind)
    }
    if kind == .mean, reducedCount > 0 {
      let scale = 1 / Float(reducedCount)
      for i in out.indices { out[i] *= scale }
    }
    return Tensor(shape: outShape, floats: out)
  }

  /// The scalar definition of `reduce`: one pass over the input, accumulating in Double.
  public func reduceReference(_ kind: ReductionKind, axes: [Int]? = nil, keepDims: Bool = true) throws
    -> Tensor
  {
    let (_, outShape, keptShape) = try reductionShapes(axes, keepDims: keepDims, "reduce")
    let x = asFloats()
    let outStrides = broadcastStrides(keptShape, to: shape)
    let inStrides = Tensor.strides(of: shape)
    let outCount = Tensor.elementCount(keptShape)
    let start: Double = kind == .max ? -.infinity : kind == .min ? .infinity : 0
    var acc = [Double](repeating: start, count: outCount)
    var counts = [Int](repeating: 0, count: outCount)
    for i in 0..<x.count {
      var (o, rest) = (0, i)
      for axis in 0..<rank {
        o += (rest / inStrides[axis]) * outStrides[axis]
        rest %= inStrides[axis]
      }
      let v = Double(x[i])
      switch kind {
      case .sum, .mean: acc[o] += v
      case .max: acc[o] = v > acc[o] || v.isNaN ? v : acc[o]
      case .min: acc[o] = v < acc[o] || v.isNaN ? v : acc[o]
      }
      counts[o] += 1
    }
    let out = acc.indices.map { o in
      Float(kind == .mean && counts[o] > 0 ? acc[o] / Double(counts[o]) : acc[o])
    }
    return Tensor(shape: outShape, floats: out)
  }

  /// ONNX ArgMax along `axis`: int64 indices of the first (or last) maximum.
  public func argmax(axis: Int = 0, keepDims: Bool = true, selectLastIndex: Bool = false) throws -> Tensor {
    let a = try Tensor.normalizedAxis(axis, rank: rank, operation: "argmax")
    guard shape[a] > 0 else {
      throw TensorError.invalidArgument(operation: "argmax", message: "empty axis \(a) in shape \(shape)")
    }
    let x = dtype == .float32 ? floats : asFloats()
    let outer = shape[..<a].reduce(1, *)
    let inner = shape[(a + 1)...].reduce(1, *)
    let dim = shape[a]
    var out = [Int64](repeating: 0, count: outer * inner)
    for o in 0..<outer {
      for i in 0..<inner {
        var best = x[o * dim * inner + i]
        var bestIndex = 0
        for j in 1..<Swift.max(dim, 1) {
          let v = x[(o * dim + j) * inner + i]
          if v > best || (selectLastIndex && v == best) || (v.isNaN && !best.isNaN) {
            best = v
            bestIndex = j
          }
        }
        out[o * inner + i] = Int64(bestIndex)
      }
    }
    var outShape = shape
    if keepDims { outShape[a] = 1 } else { outShape.remove(at: a) }
    return Tensor(shape: outShape, int64s: out)
  }

  /// (sorted reduced axes, output shape, output shape with reduced axes kept as 1).
  private func reductionShapes(_ axes: [Int]?, keepDims: Bool, _ op: String) throws -> ([Int], [Int], [Int]) {
    let list = axes ?? []
    var reduced = Set<Int>()
    for axis in list { reduced.insert(try Tensor.normalizedAxis(axis, rank: rank, operation: op)) }
    if list.isEmpty { reduced = Set(0..<rank) }
    let kept = (0..<rank).map { reduced.contains($0) ? 1 : shape[$0] }
    let out = keepDims ? kept : (0..<rank).filter { !reduced.contains($0) }.map { shape[$0] }
    return (reduced.sorted(), out, kept)
  }
}

/// rows × length contiguous blocks, each reduced to one value (sum for mean; scaled by the caller).
private func reduceRows(_ x: [Float], rows: Int, length: Int, _ kind: ReductionKind) -> [Float] {
  [Float](unsafeUninitializedCapacity: rows) { buffer, initialized in
    x.withUnsafeBufferPointer { src in
      let s = src.baseAddress!
      let d = SendablePointer(buffer.baseAddress!)
      let chunkRows = Swift.max(1, parallelThreshold / Swift.max(length, 1))
      let chunks = (rows + chunkRows - 1) / chunkRows
      let body: (Int) -> Void = { c in
        for r in (c * chunkRows)..<Swift.min(rows, (c + 1) * chunkRows) {
          let p = s + r * length
          switch kind {
          case .sum, .mean: d.base[r] = rowSum(p, length)
          case .max: d.base[r] = rowMax(p, length)
          case .min: d.base[r] = -rowMaxNegated(p, length)
          }
        }
      }
      if chunks > 1 { ThreadPool.shared.parallelFor(chunks, body) } else if chunks == 1 { body(0) }
    }
    initialized = rows
  }
}

/// [outer, length, inner] → [outer, inner]: rows of `inner` elements combined with SIMD16 (e.g. BERT
/// mean pooling over tokens).
private func reduceMiddle(_ x: [Float], outer: Int, length: Int, inner: Int, _ kind: ReductionKind) -> [Float]
{
  var out = [Float](repeating: 0, count: outer * inner)
  x.withUnsafeBufferPointer { src in
    out.withUnsafeMutableBufferPointer { dst in
      let (s, d) = (SendableConstPointer(src.baseAddress!), SendablePointer(dst.baseAddress!))
      let body = { (o: Int) in
        let acc = d.base + o * inner
        let block = s.base + o * length * inner
        acc.update(from: block, count: inner)
        for r in 1..<Swift.max(length, 1) {
          let row = block + r * inner
          var i = 0
          while i + 16 <= inner {
            let a = UnsafeRawPointer(acc + i).loadUnaligned(as: SIMD16<Float>.self)
            let v = UnsafeRawPointer(row + i).loadUnaligned(as: SIMD16<Float>.self)
            let c: SIMD16<Float>
            switch kind {
            case .sum, .mean: c = a + v
            case .max: c = a.replacing(with: v, where: a .< v .| v .!= v)
            case .min: c = a.replacing(with: v, where: v .< a .| v .!= v)
            }
            UnsafeMutableRawPointer(acc + i).storeBytes(of: c, as: SIMD16<Float>.self)
            i += 16
          }
          while i < inner {
            let (a, v) = (acc[i], row[i])
            switch kind {
            case .sum, .mean: acc[i] = a + v
            case .max: acc[i] = v > a || v.isNaN ? v : a
            case .min: acc[i] = v < a || v.isNaN ? v : a
            }
            i += 1
          }
        }
      }
      if outer > 1 && outer * length * inner >= parallelThreshold {
        ThreadPool.shared.parallelFor(outer) { body($0) }
      } else {
        for o in 0..<outer { body(o) }
      }
    }
  }
  return out
}

/// Σ p[0..<n], SIMD16 lanes then a horizontal sum.
@inline(__always)
func rowSum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
  var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>()
  var i = 0
  while i + 32 <= n {
    acc0 += UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
    acc1 += UnsafeRawPointer(p + i + 16).loadUnaligned(as: SIMD16<Float>.self)
    i += 32
  }
  if i + 16 <= n {
    acc0 += UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
    i += 16
  }
  var total = horizontalSum(acc0 + acc1)
  while i < n {
    total += p[i]
    i += 1
  }
  return total
}

/// max p[0..<n] (NaN propagates); n = 0 gives −∞.
@inline(__always)
func rowMax(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
  rowMaxSigned(p, n, sign: 1)
}

/// sign · max(sign · p[i]): sign −1 gives −min. NaN (any NaN element) propagates.
@inline(__always)
private func rowMaxNegated(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
  rowMaxSigned(p, n, sign: -1)
}

@inline(__always)
private func rowMaxSigned(_ p: UnsafePointer<Float>, _ n: Int, sign: Float) -> Float {
  var acc = SIMD16<Float>(repeating: -.infinity)
  // v − v is 0 for finite v and NaN for NaN or ±∞: one add per vector flags the rare rows to recheck.
  var probe = SIMD16<Float>()
  var i = 0
  while i + 16 <= n {
    let v = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self) * sign
    probe += v - v
    acc = simdMax(acc, v)
    i += 16
  }
  var best = horizontalMax(acc)
  var special = horizontalSum(probe).isNaN
  while i < n {
    let v = p[i] * sign
    special = special || !v.isFinite
    best = Swift.max(best, v)
    i += 1
  }
  if special {
    for j in 0..<n where p[j].isNaN { return .nan }
    best = -.infinity
    for j in 0..<n { best = Swift.max(best, p[j] * sign) }
  }
  return best
}

/// Largest lane, by halving (`SIMD.max()` is a scalar loop).
@inline(__always)
func horizontalMax(_ v: SIMD16<Float>) -> Float {
  let a = simdMax(v.lowHalf, v.highHalf)
  let b = simdMax(a.lowHalf, a.highHalf)
  let c = simdMax(b.lowHalf, b.highHalf)
  return Swift.max(c[0], c[1])
}

/// Sum of the lanes, by halving.
@inline(__always)
func horizontalSum(_ v: SIMD16<Float>) -> Float {
  let a = v.lowHalf + v.highHalf
  let b = a.lowHalf + a.highHalf
  let c = b.lowHalf + b.highHalf
  return c[0] + c[1]
}

/// out[o(i)] ⊕= x[i] where o maps an input index onto the kept shape (0 strides on reduced axes).
private func reduceStrided(_ x: [Float], shape: [Int], keptShape: [Int], _ kind: ReductionKind) -> [Float] {
  let outCount = Tensor.elementCount(keptShape)
  let start: Float = kind == .max ? -.infinity : kind == .min ? .infinity : 0
  var out = [Float](repeating: start, count: outCount)
  let (dims, strides) = coalesce(shape, [broadcastStrides(keptShape, to: shape)])
  let rank = dims.count
  let inner = dims[rank - 1]
  let innerStride = strides[0][rank - 1]
  var index = [Int](repeating: 0, count: rank)
  var o = 0
  var i = 0
  while i < x.count {
    for j in 0..<inner {
      let v = x[i + j]
      let p = o + j * innerStride
      switch kind {
      case .sum, .mean: out[p] += v
      case .max: out[p] = v > out[p] || v.isNaN ? v : out[p]
      case .min: out[p] = v < out[p] || v.isNaN ? v : out[p]
      }
    }
    i += inner
    var axis = rank - 2
    while axis >= 0 {
      index[axis] += 1
      o += strides[0][axis]
      if index[axis] < dims[axis] { break }
      o -= strides[0][axis] * dims[axis]
      index[axis] = 0
      axis -= 1
    }
  }
  return out
}
