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

  /// Which narrow integer types a graph computes in Int64, decided once per graph (see the type comment).
  public struct Int64Widening: Sendable {
    /// The graph uses quantization ops, so its int8/uint8 values stay as they are.
    public let keepsEightBit: Bool

    /// Whether values of `dtype` are computed in Int64.
    public func widens(_ dtype: DType) -> Bool {
      Graph.computesAsInt64(dtype) && !(keepsEightBit && (dtype == .int8 || dtype == .uint8))
    }

    /// The Cast target codes that wrap to their narrow type and are widened again.
    var castCodes: Set<Int> {
      let all = Set(Graph.widenedIntegerCastCodes.keys)
      return keepsEightBit ? all.subtracting([2, 3]) : all
    }
  }

  public var int64Widening: Int64Widening {
    Int64Widening(keepsEightBit: nodes.contains { Self.eightBitOps.contains($0.opType) })
  }

  /// Whether any constant, cast, input or output uses an integer type computed as Int64.
  public var storesOtherIntegerTypes: Bool { stores(int64Widening) }

  private func stores(_ w: Int64Widening) -> Bool { stores(w.widens, castCodes: w.castCodes) }

  /// This graph computing in Int64 (see the type comment); unchanged when it has no such types.
  public func computingInInt64() -> Graph {
    let w = int64Widening
    guard stores(w) else { return self }
    let codes = w.castCodes
    var g = widening(w.widens, to: .int64)
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
