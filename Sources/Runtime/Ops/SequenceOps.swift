import ModelGraph
import TensorCore

/// ONNX sequence ops (a sequence is an ordered list of tensors of one dtype, carried by the executor
/// beside the tensors: `OpContext.sequenceInputs` / `sequenceOutputs`): SequenceEmpty,
/// SequenceConstruct, SequenceAt, SequenceInsert, SequenceErase, SequenceLength, SplitToSequence,
/// ConcatFromSequence; and Shrink. Sequences stay inside the graph: a graph input or output of
/// sequence type is refused on import / at executor construction.
enum SequenceOps {
  static let opTypes: Set<String> = [
    "SequenceEmpty", "SequenceConstruct", "SequenceAt", "SequenceInsert", "SequenceErase", "SequenceLength",
    "SplitToSequence", "ConcatFromSequence",
  ]

  /// Whether `node`'s first output is a sequence.
  static func producesSequence(_ node: Node) -> Bool {
    node.domain.isEmpty
      && ["SequenceEmpty", "SequenceConstruct", "SequenceInsert", "SequenceErase", "SplitToSequence"].contains(
        node.opType)
  }

  /// Whether input `index` of `node` is a sequence.
  static func takesSequence(_ node: Node, input index: Int) -> Bool {
    node.domain.isEmpty && index == 0
      && ["SequenceAt", "SequenceInsert", "SequenceErase", "SequenceLength", "ConcatFromSequence"].contains(
        node.opType)
  }

  /// The placeholder returned where an output is a sequence.
  static let placeholder = Tensor(shape: [0], floats: [])

  static func register(into table: inout [OpKey: OpDefinition]) {
    table[OpKey("SequenceEmpty")] = OpDefinition(opsets: 11...28) { ctx in
      let code = try ctx.int("dtype", default: 1)
      guard ShapeOps.onnxDType[code] != nil else { throw ctx.unsupported("dtype", "\(code)") }
      return output(&ctx, [])
    }
    table[OpKey("SequenceConstruct")] = OpDefinition(opsets: 11...28) { ctx in
      let tensors = try (0..<ctx.inputCount).map { try ctx.input($0) }
      guard let first = tensors.first else { throw ctx.shapeError(expected: "at least one input", found: "none") }
      if let other = tensors.firstIndex(where: { $0.dtype != first.dtype }) {
        throw ctx.dtypeError(input: other, expected: first.dtype.rawValue, found: tensors[other].dtype)
      }
      return output(&ctx, tensors)
    }
    table[OpKey("SequenceAt")] = OpDefinition(opsets: 11...28) { ctx in
      let sequence = try ctx.sequenceInput(0)
      return [sequence[try position(ctx, 1, count: sequence.count, insert: false)!]]
    }
    table[OpKey("SequenceInsert")] = OpDefinition(opsets: 11...28) { ctx in
      var sequence = try ctx.sequenceInput(0)
      let tensor = try ctx.input(1)
      if let first = sequence.first, first.dtype != tensor.dtype {
        throw ctx.dtypeError(input: 1, expected: first.dtype.rawValue, found: tensor.dtype)
      }
      sequence.insert(tensor, at: try position(ctx, 2, count: sequence.count, insert: true) ?? sequence.count)
      return output(&ctx, sequence)
    }
    table[OpKey("SequenceErase")] = OpDefinition(opsets: 11...28) { ctx in
      var sequence = try ctx.sequenceInput(0)
      guard !sequence.isEmpty else { throw ctx.shapeError(expected: "a non-empty sequence", found: "an empty one") }
      sequence.remove(at: try position(ctx, 1, count: sequence.count, insert: false) ?? sequence.count - 1)
      return output(&ctx, sequence)
    }
    table[OpKey("SequenceLength")] = OpDefinition(opsets: 11...28) { ctx in
      [Tensor(shape: [], int64s: [Int64(try ctx.sequenceInput(0).count)])]
    }
    table[OpKey("SplitToSequence")] = OpDefinition(opsets: 11...28) { ctx in
      output(&ctx, try splitToSequence(ctx))
    }
    table[OpKey("ConcatFromSequence")] = OpDefinition(opsets: 11...28) { ctx in
      [try concatFromSequence(ctx)]
    }
    table[OpKey("Shrink")] = OpDefinition(opsets: 9...28) { ctx in [try shrink(&ctx)] }
  }

  static func output(_ ctx: inout OpContext, _ sequence: [Tensor]) -> [Tensor] {
    ctx.sequenceOutputs[0] = sequence
    return [placeholder]
  }

  /// The position in input `index` (a scalar or one-element int tensor; nil when omitted), negative
  /// counting from the end; valid in [-n, n-1], or [-n, n] when inserting.
  static func position(_ ctx: OpContext, _ index: Int, count: Int, insert: Bool) throws -> Int? {
    guard ctx.optionalInput(index) != nil else { return nil }
    let values = try ctx.intValues(index)
    guard values.count == 1 else { throw ctx.shapeError(expected: "a scalar position", found: "\(values.count) values") }
    let p = values[0]
    let upper = insert ? count : count - 1
    guard p >= -count, p <= upper else {
      throw ctx.shapeError(expected: "a position in \(-count)...\(upper) (sequence of \(count))", found: "\(p)")
    }
    return p < 0 ? p + count : p
  }

  /// SplitToSequence: no `split` → pieces of 1 (squeezed unless keepdims = 0… kept when keepdims = 1);
  /// a scalar `split` → pieces of that size, the last one smaller; a 1-D `split` → those sizes.
  static func splitToSequence(_ ctx: OpContext) throws -> [Tensor] {
    let x = try ctx.input(0)
    let axis = try ctx.axis(try ctx.int("axis", default: 0), rank: x.rank)
    let size = x.shape[axis]
    var sizes: [Int]
    var squeeze = false
    if let split = ctx.optionalInput(1) {
      let values = try ctx.intValues(1)
      if split.rank == 0 {
        guard let chunk = values.first, chunk > 0 else {
          throw ctx.shapeError(expected: "a positive split size", found: "\(values)")
        }
        sizes = stride(from: 0, to: size, by: chunk).map { Swift.min(chunk, size - $0) }
      } else {
        sizes = values
      }
    } else {
      sizes = [Int](repeating: 1, count: size)
      squeeze = try ctx.int("keepdims", default: 1) == 0
    }
    guard sizes.allSatisfy({ $0 >= 0 }), sizes.reduce(0, +) == size else {
      throw ctx.shapeError(expected: "split sizes ≥ 0 summing to \(size)", found: "\(sizes)")
    }
    var pieces = try x.split(sizes: sizes, axis: axis)
    if squeeze {
      for i in pieces.indices {
        var shape = pieces[i].shape
        shape.remove(at: axis)
        pieces[i] = try pieces[i].reshaped(shape)
      }
    }
    return pieces
  }

  /// ConcatFromSequence: Concat along `axis`, or (new_axis = 1) stack along a new `axis`.
  static func concatFromSequence(_ ctx: OpContext) throws -> Tensor {
    let sequence = try ctx.sequenceInput(0)
    guard let first = sequence.first else {
      throw ctx.shapeError(expected: "a non-empty sequence", found: "an empty one")
    }
    let newAxis = try ctx.int("new_axis", default: 0) == 1
    let rawAxis = try ctx.int("axis", default: Int.min)
    guard rawAxis != Int.min else { throw ctx.unsupported("axis", "missing (required)") }
    let axis = try ctx.axis(rawAxis, rank: first.rank + (newAxis ? 1 : 0))
    var parts = sequence
    if newAxis {
      for i in parts.indices {
        var shape = parts[i].shape
        shape.insert(1, at: axis)
        parts[i] = try parts[i].reshaped(shape)
      }
    }
    do {
      return try concat(parts, axis: axis)
    } catch {
      throw ctx.shapeError(expected: "tensors of one dtype equal except along axis \(axis)", found: "\(error)")
    }
  }

  /// Shrink: x − bias where x > lambd, x + bias where x < −lambd, else 0 (floats and int64).
  static func shrink(_ ctx: inout OpContext) throws -> Tensor {
    let bias = try ctx.float("bias", default: 0)
    let lambd = try ctx.float("lambd", default: 0.5)
    let x = try ctx.takeInput(0)
    func f(_ v: Float) -> Float { v < -lambd ? v + bias : (v > lambd ? v - bias : 0) }
    switch x.dtype {
    case .float32: return Tensor(shape: x.shape, floats: x.floats.map(f))
    case .int64:
      return Tensor(shape: x.shape, int64s: x.int64s.map { v in
        let d = Double(v)
        return d < -Double(lambd) ? v + Int64(bias) : (d > Double(lambd) ? v - Int64(bias) : 0)
      })
    default: throw ctx.dtypeError(input: 0, expected: "float32 or int64", found: x.dtype)
    }
  }
}
