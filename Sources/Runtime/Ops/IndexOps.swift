import ModelGraph
import TensorCore

/// Index-producing and index-reading ops of exported language and classification models (ONNX
/// operator spec): Trilu (causal masks), ArgMax, ArgMin, TopK, CumSum (positions), GatherElements.
enum IndexOps {
  static func register(into table: inout [OpKey: OpDefinition]) {
    table[OpKey("Trilu")] = OpDefinition { ctx in [try trilu(ctx)] }
    table[OpKey("ArgMax")] = OpDefinition { ctx in [try argExtreme(ctx, max: true)] }
    table[OpKey("ArgMin")] = OpDefinition { ctx in [try argExtreme(ctx, max: false)] }
    table[OpKey("TopK")] = OpDefinition { ctx in try topK(ctx) }
    table[OpKey("CumSum")] = OpDefinition { ctx in [try cumSum(ctx)] }
    table[OpKey("GatherElements")] = OpDefinition { ctx in [try gatherElements(ctx)] }
  }

  /// Trilu(X [..., N, M], k = 0): upper keeps j − i ≥ k, lower keeps j − i ≤ k; the rest is zero.
  /// Any dtype: dropped elements read the zero appended after X's elements.
  static func trilu(_ ctx: OpContext) throws -> Tensor {
    let x = try ctx.input(0)
    guard x.rank >= 2 else { throw ctx.shapeError(expected: "rank ≥ 2", found: "\(x.shape)") }
    let k = ctx.optionalInput(1).flatMap { $0.asInt64s().first }.map(Int.init) ?? 0
    let upper = try ctx.int("upper", default: 1) != 0
    let (rows, cols) = (x.shape[x.rank - 2], x.shape[x.rank - 1])
    let zero = x.count
    var offsets = [Int](repeating: 0, count: x.count)
    for o in 0..<x.count {
      let (i, j) = ((o / cols) % rows, o % cols)
      offsets[o] = (upper ? j - i >= k : j - i <= k) ? o : zero
    }
    let padded = Tensor.joined([x, Tensor.zeros([1], dtype: x.dtype)], shape: [x.count + 1])
    return padded.gathering(offsets: offsets, shape: x.shape)
  }

  /// [outer, n, inner] view of `shape` around `axis`.
  static func split(_ shape: [Int], _ axis: Int) -> (outer: Int, n: Int, inner: Int) {
    (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
  }

  /// ArgMax/ArgMin along `axis` (int64 indices); first occurrence unless select_last_index = 1.
  static func argExtreme(_ ctx: OpContext, max: Bool) throws -> Tensor {
    let x = try ctx.input(0)
    guard x.dtype == .float32 || x.dtype == .int64 else {
      throw ctx.dtypeError(input: 0, expected: "float32 or int64", found: x.dtype)
    }
    let axis = try ctx.axis(try ctx.int("axis", default: 0), rank: x.rank)
    let keep = try ctx.int("keepdims", default: 1) != 0
    let last = try ctx.int("select_last_index", default: 0) != 0
    let v = x.asFloats()
    let (outer, n, inner) = split(x.shape, axis)
    guard n > 0 else { throw ctx.shapeError(expected: "a non-empty axis \(axis)", found: "\(x.shape)") }
    var out = [Int64](repeating: 0, count: outer * inner)
    for o in 0..<outer {
      for i in 0..<inner {
        var best = 0
        for j in 1..<n {
          let (a, b) = (v[(o * n + j) * inner + i], v[(o * n + best) * inner + i])
          if max ? (a > b || (last && a == b)) : (a < b || (last && a == b)) { best = j }
        }
        out[o * inner + i] = Int64(best)
      }
    }
    var shape = x.shape
    if keep { shape[axis] = 1 } else { shape.remove(at: axis) }
    return Tensor(shape: shape, int64s: out)
  }

  /// TopK(X, K) along `axis`: values and int64 indices; ties keep the lower index first.
  static func topK(_ ctx: OpContext) throws -> [Tensor] {
    let x = try ctx.input(0)
    guard x.dtype == .float32 || x.dtype == .int64 else {
      throw ctx.dtypeError(input: 0, expected: "float32 or int64", found: x.dtype)
    }
    let k = try ctx.intValues(1).first ?? 0
    let axis = try ctx.axis(try ctx.int("axis", default: -1), rank: x.rank)
    let largest = try ctx.int("largest", default: 1) != 0
    let (outer, n, inner) = split(x.shape, axis)
    guard k >= 0, k <= n else { throw ctx.shapeError(expected: "K in 0…\(n)", found: "\(k)") }
    let v = x.asFloats()
    var offsets: [Int] = []
    var indices: [Int64] = []
    offsets.reserveCapacity(outer * k * inner)
    var chosen = [[Int]](repeating: [], count: outer * inner)
    for o in 0..<outer {
      for i in 0..<inner {
        let order = (0..<n).sorted { a, b in
          let (va, vb) = (v[(o * n + a) * inner + i], v[(o * n + b) * inner + i])
          return va != vb ? (largest ? va > vb : va < vb) : a < b
        }
        chosen[o * inner + i] = Array(order.prefix(k))
      }
    }
    for o in 0..<outer {
      for r in 0..<k {
        for i in 0..<inner {
          let j = chosen[o * inner + i][r]
          offsets.append((o * n + j) * inner + i)
          indices.append(Int64(j))
        }
      }
    }
    var shape = x.shape
    shape[axis] = k
    return [x.gathering(offsets: offsets, shape: shape), Tensor(shape: shape, int64s: indices)]
  }

  /// CumSum(X, axis) with `exclusive` and `reverse` (float32 or int64).
  static func cumSum(_ ctx: OpContext) throws -> Tensor {
    let x = try ctx.input(0)
    let axis = try ctx.axis(try ctx.intValues(1).first ?? 0, rank: x.rank)
    let exclusive = try ctx.int("exclusive", default: 0) != 0
    let reverse = try ctx.int("reverse", default: 0) != 0
    let (outer, n, inner) = split(x.shape, axis)
    func scan<T: AdditiveArithmetic>(_ v: [T]) -> [T] {
      var out = v
      for o in 0..<outer {
        for i in 0..<inner {
          var sum = T.zero
          for step in 0..<n {
            let j = reverse ? n - 1 - step : step
            let index = (o * n + j) * inner + i
            if exclusive {
              out[index] = sum
              sum += v[index]
            } else {
              sum += v[index]
              out[index] = sum
            }
          }
        }
      }
      return out
    }
    switch x.storage {
    case .float32(let v): return Tensor(shape: x.shape, floats: scan(v))
    case .int64(let v): return Tensor(shape: x.shape, int64s: scan(v))
    default: throw ctx.dtypeError(input: 0, expected: "float32 or int64", found: x.dtype)
    }
  }

  /// GatherElements(data, indices, axis): out[…, i, …] = data[…, indices[…, i, …], …].
  static func gatherElements(_ ctx: OpContext) throws -> Tensor {
    let data = try ctx.input(0)
    let indices = try ctx.intValues(1)
    let shape = try ctx.input(1).shape
    let axis = try ctx.axis(try ctx.int("axis", default: 0), rank: data.rank)
    guard shape.count == data.rank else {
      throw ctx.shapeError(expected: "indices of rank \(data.rank)", found: "\(shape)")
    }
    let strides = Tensor.strides(of: data.shape)
    let outStrides = Tensor.strides(of: shape)
    let n = data.shape[axis]
    var offsets = [Int](repeating: 0, count: indices.count)
    for (flat, raw) in indices.enumerated() {
      let index = raw < 0 ? raw + n : raw
      guard index >= 0, index < n else {
        throw ctx.shapeError(expected: "indices in -\(n)..<\(n)", found: "\(raw)")
      }
      var offset = 0
      for d in 0..<shape.count {
        let position = (flat / outStrides[d]) % shape[d]
        guard d == axis || position < data.shape[d] else {
          throw ctx.shapeError(expected: "indices within \(data.shape)", found: "\(shape)")
        }
        offset += (d == axis ? index : position) * strides[d]
      }
      offsets[flat] = offset
    }
    return data.gathering(offsets: offsets, shape: shape)
  }
}
