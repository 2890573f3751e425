import TensorCore

/// A value's inferred element type and shape. `dims` keeps symbolic sizes (e.g. "batch",
/// "2*sequence") where the size follows a symbolic input dimension; `concrete` is the shape for the
/// input sizes inference was run with.
public struct ValueShape: Sendable, Equatable, Codable {
  public var dtype: DType
  public var dims: [Dim]
  public var concrete: [Int]

  public init(dtype: DType, dims: [Dim], concrete: [Int]) {
    self.dtype = dtype
    self.dims = dims
    self.concrete = concrete
  }
}

extension Dim: Codable {
  public init(from decoder: Decoder) throws {
    let c = try decoder.singleValueContainer()
    if let n = try? c.decode(Int.self) {
      self = .fixed(n)
    } else {
      self = .symbolic(try c.decode(String.self))
    }
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.singleValueContainer()
    switch self {
    case .fixed(let n): try c.encode(n)
    case .symbolic(let s): try c.encode(s)
    }
  }
}

extension Graph {
  /// Shape and dtype of every value (graph inputs, initializers, node outputs), by running the op
  /// semantics on shapes: shape subgraphs (Shape → Gather → Concat → Reshape …) are evaluated on
  /// their small int64 values, large ops use shape rules.
  ///
  /// `inputShapes` fixes the sizes of graph inputs (default: symbolic dimensions are 1). Symbolic
  /// dimensions are found by inferring a second time with each symbol changed: sizes that move
  /// with a symbol are reported as that symbol (or a multiple, "12*batch"), others as `?`.
  public func inferShapes(
    inputShapes: [String: [Int]] = [:], selector: any KernelSelector
  ) throws -> [String: ValueShape] {
    var symbols: [String: Int] = [:]  // symbol → its size in the first pass
    var order: [String] = []
    for info in inputs where initializers[info.name] == nil {
      for (axis, dim) in (info.shape ?? []).enumerated() {
        guard case .symbolic(let name) = dim, symbols[name] == nil else { continue }
        symbols[name] = inputShapes[info.name].flatMap { axis < $0.count ? $0[axis] : nil } ?? 1
        order.append(name)
      }
    }
    let first = try concreteShapes(inputShapes: inputShapes, symbols: symbols, selector: selector)
    let primes = [7, 11, 13, 17, 19, 23, 29, 31]
    var moved = symbols
    for (i, name) in order.enumerated() { moved[name]! += primes[i % primes.count] * (i / primes.count + 1) }
    var movedInputs = inputShapes
    for info in inputs where inputShapes[info.name] != nil {
      movedInputs[info.name] = (info.shape ?? []).enumerated().map { axis, dim in
        if case .symbolic(let s) = dim { return moved[s]! }
        return inputShapes[info.name]![axis]
      }
    }
    let second =
      order.isEmpty ? first : try concreteShapes(inputShapes: movedInputs, symbols: moved, selector: selector)
    var result: [String: ValueShape] = [:]
    for (name, a) in first {
      let b = second[name]?.shape ?? a.shape
      let dims = a.shape.enumerated().map { axis, n -> Dim in
        guard axis < b.count, b[axis] != n else { return .fixed(n) }
        for s in order {
          let (sa, sb) = (symbols[s]!, moved[s]!)
          guard (b[axis] - n) % (sb - sa) == 0 else { continue }
          let k = (b[axis] - n) / (sb - sa)
          if k * sa == n { return .symbolic(k == 1 ? s : "\(k)*\(s)") }
        }
        return .symbolic("?")
      }
      result[name] = ValueShape(dtype: a.dtype, dims: dims, concrete: a.shape)
    }
    return result
  }

  /// One abstract-interpretation pass: every value's concrete shape and dtype (and, for small values
  /// computable from constants and shapes, the value itself).
  func concreteShapes(
    inputShapes: [String: [Int]], symbols: [String: Int] = [:], selector: any KernelSelector
  ) throws -> [String: (shape: [Int], dtype: DType, value: Tensor?)] {
    typealias Abstract = (shape: [Int], dtype: DType, value: Tensor?)
    var known: [String: Abstract] = [:]
    for (name, t) in initializers { known[name] = (t.shape, t.dtype, t) }
    for info in inputs where initializers[info.name] == nil {
      let shape =
        inputShapes[info.name]
        ?? (info.shape ?? []).map { dim -> Int in
          switch dim {
          case .fixed(let n): return n
          case .symbolic(let s): return symbols[s] ?? 1
          }
        }
      known[info.name] = (shape, info.dtype, nil)
    }
    let valueLimit = 1 << 16
    var sequences: [String: [Tensor]] = [:]
    for node in nodes {
      let kernel = try selector.kernel(for: node, in: self)
      let ins: [Abstract?] = try node.inputs.map { name in
        if name.isEmpty { return nil }
        guard let a = known[name] else { throw ModelGraphError.missingValue(node: node.name, name: name) }
        return a
      }
      var ctx = OpContext(node: node, opset: opsetVersion, inputs: ins.map { $0?.value })
      // ONNX sequences (inside the graph only) travel beside the abstract values.
      if !sequences.isEmpty { ctx.sequenceInputs = node.inputs.map { sequences[$0] } }
      var outs: [Abstract] = []
      let present = ins.compactMap { $0 }
      if node.opType == "Shape" || node.opType == "Size", node.domain.isEmpty, let x = present.first {
        // Only the input's shape matters.
        let t =
          node.opType == "Size"
          ? Tensor(shape: [], int64s: [Int64(try Self.elements(x.shape, node: node))])
          : try shapeOp(ctx, x.shape.map { Int64($0) })
        outs = [(t.shape, .int64, t)]
      } else if present.allSatisfy({ $0.value != nil })
        && present.reduce(0, { $0 + (Self.checkedCount($1.shape) ?? .max / 2) }) <= 1 << 22
      {
        outs = try Self.runComputingInFloat32(kernel, &ctx).map {
          ($0.shape, $0.dtype, $0.count <= valueLimit ? $0 : nil)
        }
      } else if let rule = ShapeRules.rule(for: node.opType), node.domain.isEmpty {
        let shapes = ins.map { $0?.shape ?? [] }
        outs = try rule(ctx, shapes, ins.map { $0?.dtype ?? .float32 }).map { ($0.0, $0.1, nil) }
      } else {
        // Stand-ins are allocated: refuse sizes no real run could hold either.
        for a in present where a.value == nil && (Self.checkedCount(a.shape) ?? .max) > Self.standInLimit {
          throw ModelGraphError.shapeMismatch(
            node: node.name,
            expected: "inputs of at most \(Self.standInLimit) elements for shape inference of \(node.opType)",
            found: "\(a.shape)")
        }
        ctx.inputs = ins.map { a in a.map { $0.value ?? Tensor.zeros($0.shape, dtype: $0.dtype) } }
        outs = try Self.runComputingInFloat32(kernel, &ctx).map { ($0.shape, $0.dtype, nil) }
      }
      for (i, name) in node.outputs.enumerated() where !name.isEmpty && i < outs.count {
        _ = try Self.elements(outs[i].shape, node: node)
        known[name] = outs[i]
      }
      for (i, sequence) in ctx.sequenceOutputs where i < node.outputs.count { sequences[node.outputs[i]] = sequence }
    }
    return known
  }

  /// Largest value shape inference accepts (2^40 elements): larger is a corrupt model or absurd
  /// input sizes, and keeps MAC and byte counts (element count × a few thousand) inside Int.
  public static let maxElements = 1 << 40
  /// Largest input a node without a shape rule is run on (zero-filled stand-ins are allocated).
  static let standInLimit = 1 << 26

  /// The element count of `shape`, nil when a dim is negative or the product overflows.
  package static func checkedCount(_ shape: [Int]) -> Int? {
    var count = 1
    for d in shape {
      guard d >= 0 else { return nil }
      let (p, overflow) = count.multipliedReportingOverflow(by: d)
      if overflow { return nil }
      count = p
    }
    return count
  }

  /// `checkedCount`, throwing naming the node when it is nil or above `maxElements`.
  static func elements(_ shape: [Int], node: Node) throws -> Int {
    guard let n = checkedCount(shape), n <= maxElements else {
      throw ModelGraphError.shapeMismatch(
        node: node.name, expected: "a value of at most 2^40 elements (\(node.opType) output)", found: "\(shape)")
    }
    return n
  }

  /// Shape op on a shape too large to materialise: honours start/end (opset 15).
  private func shapeOp(_ ctx: OpContext, _ dims: [Int64]) throws -> Tensor {
    let rank = dims.count
    func clamp(_ v: Int) -> Int { Swift.min(Swift.max(v < 0 ? v + rank : v, 0), rank) }
    let start = clamp(try ctx.int("start", default: 0))
    let end = clamp(try ctx.int("end", default: rank))
    let slice = start < end ? Array(dims[start..<end]) : []
    return Tensor(shape: [slice.count], int64s: slice)
  }
}

extension Graph {
  /// Concrete shapes for the graph inputs: a symbolic dimension takes `sizes[name]`, else `batch`
  /// on axis 0, else 1. Unknown ranks give an empty shape.
  /// Every symbolic dimension of the inputs sized as the CLI sizes them everywhere (`inspect`,
  /// `energy`, `bench`, `prune`'s summary): `batch` on axis 0, `sequence` on every other axis.
  public func symbolicSizes(batch: Int = 1, sequence: Int = 64) -> [String: Int] {
    var sizes: [String: Int] = [:]
    for info in inputs where initializers[info.name] == nil {
      for (axis, dim) in (info.shape ?? []).enumerated() {
        if case .symbolic(let name) = dim, sizes[name] == nil { sizes[name] = axis == 0 ? batch : sequence }
      }
    }
    return sizes
  }

  public func inputShapes(batch: Int? = nil, sizes: [String: Int] = [:]) -> [String: [Int]] {
    var result: [String: [Int]] = [:]
    for info in inputs where initializers[info.name] == nil {
      result[info.name] = (info.shape ?? []).enumerated().map { axis, dim in
        switch dim {
        case .fixed(let n): return n
        case .symbolic(let s): return sizes[s] ?? (axis == 0 ? batch : nil) ?? 1
        }
      }
    }
    return result
  }
}

extension Graph {
  /// Runs `kernel` the way the executor does for float16/bfloat16/float64 values (Float32 compute,
  /// see `computingInFloat32`), and labels float results with the stored type again so that dtypes
  /// and byte counts stay those of the model as stored.
  static func runComputingInFloat32(_ kernel: OpKernel, _ ctx: inout OpContext) throws -> [Tensor] {
    let stored = ctx.inputs.compactMap { $0?.dtype }.first(where: computesAsFloat32)
    guard let stored, ctx.node.opType != "Cast" else { return try kernel(&ctx) }
    ctx.inputs = ctx.inputs.map { t in t.map { computesAsFloat32($0.dtype) ? $0.converted(to: .float32) : $0 }
    }
    return try kernel(&ctx).map { $0.dtype == .float32 ? $0.converted(to: stored) : $0 }
  }
}

extension Graph {
  /// Runs shape inference once at the declared input sizes (symbolic dimensions = 1) and throws its
  /// first error: a weight whose shape contradicts its node (`[300, 100]` where Gemm needs
  /// `[100, 300]`), an op `selector` has no kernel for (`unsupportedOp`), broadcasting that fails.
  /// Graphs with an input of unknown rank are not checked (their sizes are unknown until run).
  public func checkShapes(selector: any KernelSelector) throws {
    guard inputs.allSatisfy({ initializers[$0.name] != nil || $0.shape != nil }) else { return }
    _ = try concreteShapes(inputShapes: inputShapes(), selector: selector)
  }
}

extension Graph {
  /// The largest value (in elements) a run at `inputShapes` would hold, from one shape-inference
  /// pass: lets a caller refuse sizes that cannot be allocated before it allocates anything.
  public func largestValue(inputShapes: [String: [Int]], selector: any KernelSelector) throws -> (
    name: String, shape: [Int], elements: Int
  ) {
    var best = (name: "", shape: [Int](), elements: 0)
    for (name, value) in try concreteShapes(inputShapes: inputShapes, selector: selector) {
      let n = Self.checkedCount(value.shape) ?? .max
      if n > best.elements || (n == best.elements && name < best.name) { best = (name, value.shape, n) }
    }
    return best
  }
}
