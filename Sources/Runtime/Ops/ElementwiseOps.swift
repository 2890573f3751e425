import Foundation
import ModelGraph
import TensorCore

/// Element-wise arithmetic with ONNX multidirectional broadcasting (ONNX Broadcasting.md):
/// Add, Sub, Mul, Div, Pow, Min, Max, Mod on float32 and int64, and unary Sqrt, Neg, Exp, Log, Abs,
/// Reciprocal, Floor, Ceil, Round, Sign, Sin, Cos.
enum ElementwiseOps {
  static func register(into table: inout [OpKey: OpDefinition]) {
    table[OpKey("Add")] = OpDefinition { ctx in [try binary(&ctx, { $0 + $1 }, { $0 &+ $1 }, fast: .add)] }
    table[OpKey("Sub")] = OpDefinition { ctx in [try binary(&ctx, { $0 - $1 }, { $0 &- $1 }, fast: .sub)] }
    table[OpKey("Mul")] = OpDefinition { ctx in [try binary(&ctx, { $0 * $1 }, { $0 &* $1 }, fast: .mul)] }
    table[OpKey("Div")] = OpDefinition { ctx in
      [
        try binary(
          &ctx, { $0 / $1 }, { $1 == 0 ? 0 : $0.dividedReportingOverflow(by: $1).partialValue }, fast: .div)
      ]
    }
    table[OpKey("Pow")] = OpDefinition { ctx in [try pow(&ctx)] }
    table[OpKey("Mod")] = OpDefinition { ctx in
      let fmod = try ctx.int("fmod", default: 0) != 0
      let isFloat = try ctx.input(0).dtype == .float32
      guard !fmod || isFloat else {
        throw ctx.unsupported("fmod", "1 on integers")
      }
      // fmod = 1: C fmod (sign of A); fmod = 0: A − ⌊A/B⌋·B (sign of B, Python %; opset 28 on floats).
      let float: (Float, Float) -> Float = fmod ? { fmodf($0, $1) } : { $0 - ($0 / $1).rounded(.down) * $1 }
      return [try binary(&ctx, float, { $1 == 0 ? 0 : (($0 % $1) + $1) % $1 })]
    }
    table[OpKey("Min")] = OpDefinition { ctx in
      [try variadic(&ctx, { Swift.min($0, $1) }, { Swift.min($0, $1) })]
    }
    table[OpKey("Max")] = OpDefinition { ctx in
      [try variadic(&ctx, { Swift.max($0, $1) }, { Swift.max($0, $1) })]
    }
    table[OpKey("Sum")] = OpDefinition { ctx in [try variadic(&ctx, { $0 + $1 }, { $0 &+ $1 })] }
    let unaries: [(String, @Sendable (Float) -> Float)] = [
      ("Sqrt", { $0.squareRoot() }), ("Log", { logf($0) }),
      ("Reciprocal", { 1 / $0 }), ("Floor", { $0.rounded(.down) }), ("Ceil", { $0.rounded(.up) }),
      ("Round", { $0.rounded(.toNearestOrEven) }), ("Sin", { sinf($0) }), ("Cos", { cosf($0) }),
    ]
    table[OpKey("Exp")] = OpDefinition { ctx in [TensorCore.exp(try ctx.floatInput(0))] }
    for (name, f) in unaries { table[OpKey(name)] = OpDefinition { ctx in [try unary(&ctx, f)] } }
    table[OpKey("Neg")] = OpDefinition { ctx in [try unary(&ctx, { -$0 }, int: { 0 &- $0 })] }
    table[OpKey("Abs")] = OpDefinition { ctx in [try unary(&ctx, { Swift.abs($0) }, int: { Swift.abs($0) })] }
    table[OpKey("Sign")] = OpDefinition { ctx in
      [try unary(&ctx, { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }, int: { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) })]
    }
  }

  /// Applies `f` to every element of input 0 (float32), in place when the input is not used later.
  static func unary(
    _ ctx: inout OpContext, _ f: (Float) -> Float, int: ((Int64) -> Int64)? = nil
  ) throws -> Tensor {
    var x = try ctx.takeInput(0)
    if x.dtype == .int64, let int {
      return Tensor(shape: x.shape, int64s: x.int64s.map(int))
    }
    guard x.dtype == .float32 else { throw ctx.dtypeError(input: 0, expected: "float32", found: x.dtype) }
    var v = x.takeFloats()
    map(&v, f)
    return Tensor(shape: x.shape, floats: v)
  }

  /// In-place element map, split over the thread pool for large arrays.
  @inline(__always)
  static func map(_ v: inout [Float], _ f: (Float) -> Float) {
    let n = v.count
    v.withUnsafeMutableBufferPointer { p in
      let base = SendablePointer(p.baseAddress!)
      let chunk = 1 << 15
      let chunks = (n + chunk - 1) / chunk
      if chunks <= 1 {
        for i in 0..<n { base.base[i] = f(base.base[i]) }
        return
      }
      withoutActuallyEscaping(f) { f in
        let box = UnsafeSendableBox(f)
        ThreadPool.shared.parallelFor(chunks) { c in
          for i in (c * chunk)..<Swift.min(n, (c + 1) * chunk) { base.base[i] = box.value(base.base[i]) }
        }
      }
    }
  }

  /// Broadcasting binary op on two float32 or two int64 inputs.
  static func binary(
    _ ctx: inout OpContext, _ f: (Float, Float) -> Float, _ g: (Int64, Int64) -> Int64, fast: FloatOp? = nil
  ) throws -> Tensor {
    var a = try ctx.input(0)
    var b = try ctx.input(1)
    // A commutative op computes in the operand that already has the output shape.
    if let fast, fast.isCommutative, a.dtype == .float32, b.dtype == .float32, a.count < b.count {
      ctx.inputs.swapAt(0, 1)
      swap(&a, &b)
    }
    guard let shape = Indexing.broadcast(a.shape, b.shape) else {
      throw ctx.shapeError(expected: "broadcastable shapes", found: "\(a.shape) and \(b.shape)")
    }
    switch (a.storage, b.storage) {
    case (.float32, .float32):
      var lhs = try ctx.takeInput(0)
      return Tensor(shape: shape, floats: broadcastFloats(&lhs, b, shape: shape, f, fast: fast))
    case (.int64(let x), .int64(let y)):
      let (ox, oy) = broadcastOffsets(a.shape, b.shape, shape)
      return Tensor(shape: shape, int64s: zip(ox, oy).map { g(x[$0.0], y[$0.1]) })
    default:
      throw ctx.dtypeError(input: 1, expected: a.dtype.rawValue, found: b.dtype)
    }
  }

  static func broadcastOffsets(_ a: [Int], _ b: [Int], _ shape: [Int]) -> ([Int], [Int]) {
    (
      Indexing.offsets(shape: shape, strides: Indexing.broadcastStrides(a, to: shape)),
      Indexing.offsets(shape: shape, strides: Indexing.broadcastStrides(b, to: shape))
    )
  }

  /// `f(a, b)` broadcast to `shape`; reuses a's storage when it already has the output shape.
  static func broadcastFloats(
    _ a: inout Tensor, _ b: Tensor, shape: [Int], _ f: (Float, Float) -> Float, fast: FloatOp? = nil
  ) -> [Float] {
    let n = Tensor.elementCount(shape)
    let bv = b.floats
    if a.shape == shape {
      var out = a.takeFloats()
      out.withUnsafeMutableBufferPointer { o in
        bv.withUnsafeBufferPointer { y in
          if let fast, bv.count == n || bv.count == 1 || isSuffix(b.shape, of: shape) {
            FloatOp.apply(fast, o.baseAddress!, y.baseAddress!, count: n, period: bv.count)
          } else if bv.count == n {  // same shape
            for i in 0..<n { o[i] = f(o[i], y[i]) }
          } else if bv.count == 1 {
            let s = y[0]
            for i in 0..<n { o[i] = f(o[i], s) }
          } else if isSuffix(b.shape, of: shape) {  // e.g. bias [N] on [M, N]
            let m = bv.count
            var i = 0
            while i < n {
              for j in 0..<m { o[i + j] = f(o[i + j], y[j]) }
              i += m
            }
          } else if let fast, let block = contiguousBlock(b.shape, of: shape), block > 1 {
            // b matches the output on its trailing `block` elements (e.g. a mask [B, 1, S, S] on
            // [B, H, S, S]): one offset per block, vectorised inside.
            let prefix = Array(shape.prefix(shape.count - trailingAxes(b.shape, of: shape)))
            let padded = [Int](repeating: 1, count: shape.count - b.shape.count) + b.shape
            let bPrefix = Array(padded.prefix(prefix.count))
            let starts = Indexing.offsets(
              shape: prefix, strides: Indexing.broadcastStrides(bPrefix, to: prefix))
            for (k, start) in starts.enumerated() {
              FloatOp.apply(
                fast, o.baseAddress! + k * block, y.baseAddress! + start * block, count: block, period: block)
            }
          } else {
            let oy = Indexing.offsets(shape: shape, strides: Indexing.broadcastStrides(b.shape, to: shape))
            for i in 0..<n { o[i] = f(o[i], y[oy[i]]) }
          }
        }
      }
      return out
    }
    let av = a.floats
    if av.count == 1 && bv.count == n { return bv.map { f(av[0], $0) } }
    if b.shape == shape && isSuffix(a.shape, of: shape) {
      let m = Swift.max(av.count, 1)
      return bv.enumerated().map { f(av[$0.offset % m], $0.element) }
    }
    let (ox, oy) = broadcastOffsets(a.shape, b.shape, shape)
    return av.withUnsafeBufferPointer { x in
      bv.withUnsafeBufferPointer { y in (0..<n).map { f(x[ox[$0]], y[oy[$0]]) } }
    }
  }

  /// Number of trailing axes on which `small` (right-aligned) equals `shape`.
  static func trailingAxes(_ small: [Int], of shape: [Int]) -> Int {
    var count = 0
    while count < small.count, small[small.count - 1 - count] == shape[shape.count - 1 - count] { count += 1 }
    return count
  }

  /// Elements of the trailing block where `small` equals `shape`, or nil when there is none.
  static func contiguousBlock(_ small: [Int], of shape: [Int]) -> Int? {
    let axes = trailingAxes(small, of: shape)
    return axes == 0 ? nil : shape.suffix(axes).reduce(1, *)
  }

  /// True when `small` (after dropping leading 1s) equals the trailing dimensions of `shape`.
  static func isSuffix(_ small: [Int], of shape: [Int]) -> Bool {
    var s = small[...]
    while let first = s.first, first == 1, s.count > 0 { s = s.dropFirst() }
    return s.count <= shape.count && Array(shape.suffix(s.count)) == Array(s)
  }

  /// Min/Max/Sum over any number of inputs, folded left with broadcasting.
  static func variadic(
    _ ctx: inout OpContext, _ f: (Float, Float) -> Float, _ g: (Int64, Int64) -> Int64
  ) throws -> Tensor {
    var acc = try ctx.input(0)
    for i in 1..<Swift.max(ctx.inputCount, 1) {
      var pair = OpContext(node: ctx.node, opset: ctx.opset, inputs: [acc, try ctx.input(i)])
      acc = try binary(&pair, f, g)
    }
    return acc
  }

  /// Pow(X, Y): Y may be any numeric type; X² and X^0.5 take exact fast paths.
  static func pow(_ ctx: inout OpContext) throws -> Tensor {
    let y = try ctx.input(1)
    let x = try ctx.input(0)
    if x.dtype == .int64 {
      let e = y.asInt64s()
      var c = OpContext(node: ctx.node, opset: ctx.opset, inputs: [x, Tensor(shape: y.shape, int64s: e)])
      return try binary(&c, { powf($0, $1) }, { b, e in e < 0 ? 0 : (0..<e).reduce(1) { r, _ in r &* b } })
    }
    let yf = y.dtype == .float32 ? y : Tensor(shape: y.shape, floats: y.asFloats())
    if yf.count == 1 {
      let e = yf.floats[0]
      if e == 2 { return try unary(&ctx, { $0 * $0 }) }
      if e == 0.5 { return try unary(&ctx, { $0.squareRoot() }) }
      if e == 1 { return try unary(&ctx, { $0 }) }
    }
    var c = OpContext(node: ctx.node, opset: ctx.opset, inputs: [try ctx.takeInput(0), yf])
    return try binary(&c, { powf($0, $1) }, { $0 &* $1 })
  }
}

/// Lets a non-escaping closure cross into `parallelFor` (the caller guarantees disjoint writes).
struct UnsafeSendableBox<T>: @unchecked Sendable {
  let value: T
  init(_ value: T) { self.value = value }
}

/// Arithmetic with explicit, vectorisable loops for the common in-place cases.
enum FloatOp {
  case add, sub, mul, div

  var isCommutative: Bool { self == .add || self == .mul }

  /// o[i] = o[i] ∘ y[i mod period] for i < count (period = count, 1, or a row length); parallel
  /// over row-aligned chunks when large.
  static func apply(
    _ op: FloatOp, _ o: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int, period: Int
  ) {
    let rowsPerChunk = Swift.max(1, (1 << 15) / Swift.max(period, 1))
    let rows = period == 0 ? 0 : count / period
    let out = SendablePointer(o)
    let rhs = SendableConstPointer(y)
    if period == count || period == 1 {
      let chunk = 1 << 15
      ThreadPool.shared.parallelFor((count + chunk - 1) / chunk) { c in
        let start = c * chunk
        let len = Swift.min(chunk, count - start)
        if period == 1 {
          run(op, out.base + start, scalar: rhs.base[0], len)
        } else {
          run(op, out.base + start, rhs.base + start, len)
        }
      }
      return
    }
    ThreadPool.shared.parallelFor((rows + rowsPerChunk - 1) / rowsPerChunk) { c in
      for r in (c * rowsPerChunk)..<Swift.min(rows, (c + 1) * rowsPerChunk) {
        run(op, out.base + r * period, rhs.base, period)
      }
    }
  }

  @inline(__always)
  static func run(_ op: FloatOp, _ o: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) {
    switch op {
    case .add: for i in 0..<n { o[i] += y[i] }
    case .sub: for i in 0..<n { o[i] -= y[i] }
    case .mul: for i in 0..<n { o[i] *= y[i] }
    case .div: for i in 0..<n { o[i] /= y[i] }
    }
  }

  @inline(__always)
  static func run(_ op: FloatOp, _ o: UnsafeMutablePointer<Float>, scalar s: Float, _ n: Int) {
    switch op {
    case .add: for i in 0..<n { o[i] += s }
    case .sub: for i in 0..<n { o[i] -= s }
    case .mul: for i in 0..<n { o[i] *= s }
    case .div:
      for i in 0..<n { o[i] /= s }
    }
  }
}
