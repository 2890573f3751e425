import TensorCore

/// Int64 is PruneKit's integer computing type, as Float32 is its float one (DESIGN.md): int8/16/32,
/// uint8/16/32/64 are storage. A graph using them runs as the same graph computing in Int64:
/// constants are widened, a cast to a narrower integer type wraps to it and widens again, and the
/// executor widens such graph inputs and narrows such graph outputs back (two's-complement wrapping,
/// so Add/Sub/Mul overflow as they would in the narrow type). uint64 is carried by bit pattern: the
/// executor refuses a uint64 input holding a value ≥ 2⁶³, which Int64 cannot order or divide as
/// unsigned.
extension Graph {
  /// ONNX TensorProto codes of the integer types computed as Int64.
  static let widenedIntegerCastCodes: [Int: String] = [
    2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 12: "uint32", 13: "uint64",
  ]

  public static func computesAsInt64(_ dtype: DType) -> Bool {
    switch dtype {
    case .int8, .int16, .int32, .uint8, .uint16, .uint32, .uint64: return true
    default: return false
    }
  }

  /// Ops defined on 8-bit integer tensors (ONNX quantization). A graph using them keeps its int8 and
  /// uint8 values as they are: their kernels read the bytes, and widening them would change the type
  /// the quantization ops check (the other integer types are still widened).
  static let eightBitOps: Set<String> = [
    "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "MatMulInteger", "ConvInteger",
    "QLinearMatMul", "QLinearConv",
  ]

  /// Whether this graph computes values of `dtype` in Int64 (see the type comment).
  public func computesAsInt64(_ dtype: DType) -> Bool {
    guard Self.computesAsInt64(dtype) else { return false }
    if dtype == .int8 || dtype == .uint8 { return !nodes.contains { Self.eightBitOps.contains($0.opType) } }
    return true
  }

  /// Whether any constant, cast, input or output uses an integer type computed as Int64.
  public var storesOtherIntegerTypes: Bool {
    stores(computesAsInt64, castCodes: widenedCastCodes)
  }

  private var widenedCastCodes: Set<Int> {
    let eightBit: Set<Int> = computesAsInt64(.int8) ? [] : [2, 3]
    return Set(Self.widenedIntegerCastCodes.keys).subtracting(eightBit)
  }

  /// This graph computing in Int64 (see the type comment); unchanged when it has no such types.
  public func computingInInt64() -> Graph {
    guard storesOtherIntegerTypes else { return self }
    let codes = widenedCastCodes
    var g = widening(computesAsInt64, to: .int64)
    var nodes: [Node] = []
    for var node in g.nodes {
      if node.opType == "Cast", case .int(let to)? = node.attributes["to"], codes.contains(to),
        let typeName = Self.widenedIntegerCastCodes[to], let output = node.outputs.first
      {
        // The cast still wraps to the narrow type; the result is then widened.
        node = Self.castThenWiden(node, output: output, typeName: typeName, to: 7, into: &nodes)
      }
      nodes.append(node)
    }
    g.nodes = nodes
    return g
  }
}
