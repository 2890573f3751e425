import ModelGraph
import TensorCore

/// Comparisons and logic with broadcasting (results are bool tensors, `.bytes(.bool, …)`):
/// Equal, Less, LessOrEqual, Greater, GreaterOrEqual, And, Or, Xor, Not; and Where.
enum LogicOps {
  static func register(into table: inout [OpKey: OpDefinition]) {
    let comparisons: [(String, @Sendable (Float, Float) -> Bool, @Sendable (Int64, Int64) -> Bool)] = [
      ("Equal", { $0 == $1 }, { $0 == $1 }), ("Less", { $0 < $1 }, { $0 < $1 }),
      ("LessOrEqual", { $0 <= $1 }, { $0 <= $1 }), ("Greater", { $0 > $1 }, { $0 > $1 }),
      ("GreaterOrEqual", { $0 >= $1 }, { $0 >= $1 }),
    ]
    for (name, f, g) in comparisons {
      table[OpKey(name)] = OpDefinition { ctx in [try compare(ctx, f, g)] }
    }
    let logic: [(String, @Sendable (Bool, Bool) -> Bool)] = [
      ("And", { $0 && $1 }), ("Or", { $0 || $1 }), ("Xor", { $0 != $1 }),
    ]
    for (name, f) in logic {
      table[OpKey(name)] = OpDefinition { ctx in
        [try compare(ctx, { f($0 != 0, $1 != 0) }, { f($0 != 0, $1 != 0) })]
      }
    }
    table[OpKey("Not")] = OpDefinition { ctx in
      let x = try ctx.input(0)
      return [Tensor(shape: x.shape, bools: x.bools.map { !$0 })]
    }
    table[OpKey("Where")] = OpDefinition { ctx in [try whereOp(ctx)] }
  }

  /// Broadcast comparison; integer and bool inputs compare as Int64, floats as Float.
  static func compare(
    _ ctx: OpContext, _ f: (Float, Float) -> Bool, _ g: (Int64, Int64) -> Bool
  ) throws -> Tensor {
    let a = try ctx.input(0)
    let b = try ctx.input(1)
    guard let shape = Indexing.broadcast(a.shape, b.shape) else {
      throw ctx.shapeError(expected: "broadcastable shapes", found: "\(a.shape) and \(b.shape)")
    }
    let (oa, ob) = ElementwiseOps.broadcastOffsets(a.shape, b.shape, shape)
    if a.dtype.isFloatingPoint || b.dtype.isFloatingPoint {
      let x = a.asFloats()
      let y = b.asFloats()
      return Tensor(shape: shape, bools: zip(oa, ob).map { f(x[$0.0], y[$0.1]) })
    }
    let x = a.asInt64s()
    let y = b.asInt64s()
    return Tensor(shape: shape, bools: zip(oa, ob).map { g(x[$0.0], y[$0.1]) })
  }

  /// Where(condition, X, Y): X where condition holds, else Y, all three broadcast together.
  static func whereOp(_ ctx: OpContext) throws -> Tensor {
    let c = try ctx.input(0)
    let x = try ctx.input(1)
    let y = try ctx.input(2)
    guard x.dtype == y.dtype else {
      throw ctx.dtypeError(input: 2, expected: x.dtype.rawValue, found: y.dtype)
    }
    guard let s1 = Indexing.broadcast(c.shape, x.shape), let shape = Indexing.broadcast(s1, y.shape) else {
      throw ctx.shapeError(expected: "broadcastable shapes", found: "\(c.shape), \(x.shape), \(y.shape)")
    }
    let cond = c.bools
    let oc = Indexing.offsets(shape: shape, strides: Indexing.broadcastStrides(c.shape, to: shape))
    let ox = Indexing.offsets(shape: shape, strides: Indexing.broadcastStrides(x.shape, to: shape))
    let oy = Indexing.offsets(shape: shape, strides: Indexing.broadcastStrides(y.shape, to: shape))
    // Gather from the concatenation [X, Y]: offsets into Y are shifted by X's count.
    let both = Tensor.joined([x, y], shape: [x.count + y.count])
    let offsets = (0..<oc.count).map { cond[oc[$0]] ? ox[$0] : x.count + oy[$0] }
    return both.gathering(offsets: offsets, shape: shape)
  }
}
