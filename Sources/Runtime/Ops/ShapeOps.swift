import ModelGraph
import TensorCore

/// Ops that change shape or type metadata, or make constants (ONNX spec): Shape, Size, Reshape,
/// Flatten, Squeeze, Unsqueeze, Identity, Dropout, Cast, CastLike, Constant, ConstantOfShape, Range.
enum ShapeOps {
  static func register(into table: inout [OpKey: OpDefinition]) {
    table[OpKey("Shape")] = OpDefinition { ctx in
      let x = try ctx.input(0)
      let rank = x.rank
      func clamp(_ v: Int) -> Int { Swift.min(Swift.max(v < 0 ? v + rank : v, 0), rank) }
      let start = clamp(try ctx.int("start", default: 0))
      let end = clamp(try ctx.int("end", default: rank))
      let dims = start < end ? x.shape[start..<end].map { Int64($0) } : []
      return [Tensor(shape: [dims.count], int64s: dims)]
    }
    table[OpKey("Size")] = OpDefinition { ctx in [Tensor(shape: [], int64s: [Int64(try ctx.input(0).count)])]
    }
    table[OpKey("Reshape")] = OpDefinition { ctx in [try reshape(&ctx)] }
    table[OpKey("Flatten")] = OpDefinition { ctx in
      var x = try ctx.takeInput(0)
      let axis = try ctx.axis(try ctx.int("axis", default: 1), rank: x.rank + 1)
      x.shape = [x.shape[..<axis].reduce(1, *), x.shape[axis...].reduce(1, *)]
      return [x]
    }
    table[OpKey("Squeeze")] = OpDefinition { ctx in [try squeeze(&ctx)] }
    table[OpKey("Unsqueeze")] = OpDefinition { ctx in [try unsqueeze(&ctx)] }
    table[OpKey("Identity")] = OpDefinition { ctx in [try ctx.takeInput(0)] }
    table[OpKey("Dropout")] = OpDefinition { ctx in
      // Inference: identity; the optional mask output is all true.
      let x = try ctx.takeInput(0)
      return [x, Tensor(shape: x.shape, bools: [Bool](repeating: true, count: x.count))]
    }
    table[OpKey("Cast")] = OpDefinition { ctx in
      let code = try ctx.int("to", default: -1)
      guard let target = onnxDType[code] else { throw ctx.unsupported("to", "\(code)") }
      return [cast(try ctx.takeInput(0), to: target)]
    }
    table[OpKey("CastLike")] = OpDefinition { ctx in [cast(try ctx.takeInput(0), to: try ctx.input(1).dtype)]
    }
    table[OpKey("Constant")] = OpDefinition { ctx in [try constant(ctx)] }
    table[OpKey("ConstantOfShape")] = OpDefinition { ctx in
      let dims = try ctx.intValues(0)
      let value = ctx.tensorAttribute("value") ?? Tensor(shape: [1], floats: [0])
      guard value.count == 1, dims.allSatisfy({ $0 >= 0 }) else {
        throw ctx.shapeError(expected: "a one-element value and dims ≥ 0", found: "\(value.shape), \(dims)")
      }
      return [value.gathering(offsets: [Int](repeating: 0, count: dims.reduce(1, *)), shape: dims)]
    }
    table[OpKey("Range")] = OpDefinition { ctx in [try range(ctx)] }
  }

  /// ONNX TensorProto.DataType codes (onnx.proto) → DType.
  static let onnxDType: [Int: DType] = [
    1: .float32, 2: .uint8, 3: .int8, 4: .uint16, 5: .int16, 6: .int32, 7: .int64, 9: .bool,
    10: .float16, 11: .float64, 12: .uint32, 13: .uint64, 16: .bfloat16,
  ]

  /// ONNX Cast: floats → integers truncate toward zero (NaN → 0, saturating), anything → bool is ≠ 0.
  static func cast(_ x: Tensor, to target: DType) -> Tensor {
    if x.dtype == target { return x }
    if target == .bool { return Tensor(shape: x.shape, bools: x.bools) }
    if x.dtype.isFloatingPoint && !target.isFloatingPoint {
      let ints = x.asFloats().map(Tensor.truncatedInt64)
      return Tensor(shape: x.shape, int64s: ints).converted(to: target)
    }
    return x.converted(to: target)
  }

  /// Reshape: 0 copies the input dimension (unless allowzero = 1), −1 is inferred.
  static func reshape(_ ctx: inout OpContext) throws -> Tensor {
    var dims = try ctx.intValues(1)
    var x = try ctx.takeInput(0)
    let allowZero = try ctx.int("allowzero", default: 0) != 0
    for i in dims.indices where dims[i] == 0 && !allowZero {
      guard i < x.rank else {
        throw ctx.shapeError(expected: "0 only where the input has a dim", found: "\(dims)")
      }
      dims[i] = x.shape[i]
    }
    let known = dims.filter { $0 != -1 }.reduce(1, *)
    if let i = dims.firstIndex(of: -1) {
      guard dims.filter({ $0 == -1 }).count == 1, known > 0, x.count % known == 0 else {
        throw ctx.shapeError(expected: "a shape for \(x.count) elements", found: "\(dims) from \(x.shape)")
      }
      dims[i] = x.count / known
    }
    guard dims.allSatisfy({ $0 >= 0 }), dims.reduce(1, *) == x.count else {
      throw ctx.shapeError(expected: "\(x.count) elements", found: "\(dims) from \(x.shape)")
    }
    x.shape = dims
    return x
  }

  /// Axes from the `axes` attribute (before opset 13) or the optional input 1 (from opset 13).
  static func axes(_ ctx: OpContext, inputIndex: Int = 1, attributeBefore version: Int = 13) throws -> [Int]?
  {
    if ctx.opset < version {
      if ctx.optionalInput(inputIndex) != nil {
        throw ctx.unsupported("axes", "input before opset \(version)")
      }
      return try ctx.ints("axes")
    }
    if ctx.hasAttribute("axes") { throw ctx.unsupported("axes", "attribute at opset \(ctx.opset)") }
    return ctx.optionalInput(inputIndex) == nil ? nil : try ctx.intValues(inputIndex)
  }

  static func squeeze(_ ctx: inout OpContext) throws -> Tensor {
    let axesValue = try axes(ctx)
    var x = try ctx.takeInput(0)
    let rank = x.rank
    let drop = try Set(
      (axesValue ?? x.shape.indices.filter { x.shape[$0] == 1 }).map { try ctx.axis($0, rank: rank) })
    guard drop.allSatisfy({ x.shape[$0] == 1 }) else {
      throw ctx.shapeError(expected: "size 1 on squeezed axes \(drop.sorted())", found: "\(x.shape)")
    }
    x.shape = x.shape.indices.filter { !drop.contains($0) }.map { x.shape[$0] }
    return x
  }

  static func unsqueeze(_ ctx: inout OpContext) throws -> Tensor {
    guard let axesValue = try axes(ctx) else { throw ctx.unsupported("axes", "missing") }
    var x = try ctx.takeInput(0)
    let rank = x.rank + axesValue.count
    let inserted = try Set(axesValue.map { try ctx.axis($0, rank: rank) })
    guard inserted.count == axesValue.count else { throw ctx.unsupported("axes", "\(axesValue) (repeated)") }
    var dims = x.shape.makeIterator()
    x.shape = (0..<rank).map { inserted.contains($0) ? 1 : dims.next()! }
    return x
  }

  /// Constant: `value` tensor, or value_float(s) / value_int(s).
  static func constant(_ ctx: OpContext) throws -> Tensor {
    if let t = ctx.tensorAttribute("value") { return t }
    switch ctx.node.attributes.first?.value {
    case .float(let v)?: return Tensor(shape: [], floats: [v])
    case .floats(let v)?: return Tensor(shape: [v.count], floats: v)
    case .int(let v)?: return Tensor(shape: [], int64s: [Int64(v)])
    case .ints(let v)?: return Tensor(shape: [v.count], int64s: v.map { Int64($0) })
    default:
      throw ctx.unsupported(ctx.node.attributes.keys.sorted().joined(separator: ","), "(Constant form)")
    }
  }

  /// Range(start, limit, delta): ⌈(limit − start)/delta⌉ elements, float32 or integer.
  static func range(_ ctx: OpContext) throws -> Tensor {
    let (s, l, d) = try (ctx.input(0), ctx.input(1), ctx.input(2))
    if s.dtype.isFloatingPoint {
      let (a, b, c) = (s.asFloats()[0], l.asFloats()[0], d.asFloats()[0])
      guard c != 0 else { throw ctx.unsupported("delta", "0") }
      let n = Swift.max(0, Int(((b - a) / c).rounded(.up)))
      return Tensor(shape: [n], floats: (0..<n).map { a + Float($0) * c })
    }
    let (a, b, c) = (s.asInt64s()[0], l.asInt64s()[0], d.asInt64s()[0])
    guard c != 0 else { throw ctx.unsupported("delta", "0") }
    let n = Swift.max(0, Int((Double(b - a) / Double(c)).rounded(.up)))
    return Tensor(shape: [n], int64s: (0..<n).map { a + Int64($0) * c }).converted(to: s.dtype)
  }
}
