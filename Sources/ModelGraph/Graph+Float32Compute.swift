import TensorCore

/// Float32 is PruneKit's computing type (DESIGN.md): float16, bfloat16 and float64 are storage.
/// A model stored in those types (e.g. converted with onnxconverter-common's float16 pass) runs as
/// the same graph computing in Float32: constants are widened, a cast to float16/bfloat16 rounds and
/// widens again, a cast to float64 becomes a cast to Float32, and the executor converts such graph
/// inputs in and graph outputs back.
extension Graph {
  /// ONNX TensorProto codes of the float types computed as Float32: FLOAT16, DOUBLE, BFLOAT16.
  static let widenedCastCodes: Set<Int> = [10, 11, 16]

  public static func computesAsFloat32(_ dtype: DType) -> Bool {
    dtype == .float16 || dtype == .bfloat16 || dtype == .float64
  }

  /// Whether any constant, cast, input or output uses a float type other than Float32.
  public var storesOtherFloatTypes: Bool {
    inputs.contains { Self.computesAsFloat32($0.dtype) }
      || outputs.contains { Self.computesAsFloat32($0.dtype) }
      || initializers.values.contains { Self.computesAsFloat32($0.dtype) }
      || nodes.contains { node in
        if node.opType == "Cast", case .int(let to)? = node.attributes["to"] {
          return Self.widenedCastCodes.contains(to)
        }
        return node.attributes.values.contains {
          if case .tensor(let t) = $0 { return Self.computesAsFloat32(t.dtype) }
          return false
        }
      }
  }

  /// This graph computing in Float32 (see the type comment); unchanged when it has no such types.
  public func computingInFloat32() -> Graph {
    guard storesOtherFloatTypes else { return self }
    var g = self
    for (name, t) in g.initializers where Self.computesAsFloat32(t.dtype) {
      g.initializers[name] = t.converted(to: .float32)
    }
    for i in g.inputs.indices where Self.computesAsFloat32(g.inputs[i].dtype) { g.inputs[i].dtype = .float32 }
    for i in g.outputs.indices where Self.computesAsFloat32(g.outputs[i].dtype) {
      g.outputs[i].dtype = .float32
    }
    var nodes: [Node] = []
    for var node in g.nodes {
      for (key, value) in node.attributes {
        if case .tensor(let t) = value, Self.computesAsFloat32(t.dtype) {
          node.attributes[key] = .tensor(t.converted(to: .float32))
        }
      }
      if node.opType == "Cast", case .int(let to)? = node.attributes["to"],
        Self.widenedCastCodes.contains(to),
        let output = node.outputs.first
      {
        if to != 11 {
          // A cast to float16/bfloat16 still rounds: cast there, then widen to Float32.
          let narrow = "\(output)__\(to == 10 ? "float16" : "bfloat16")"
          var first = node
          first.outputs = [narrow]
          nodes.append(first)
          node = Node(
            name: "\(node.name)__widen", opType: "Cast", inputs: [narrow], outputs: [output],
            attributes: ["to": .int(1)])
        } else {
          node.attributes["to"] = .int(1)
        }
      }
      nodes.append(node)
    }
    g.nodes = nodes
    return g
  }
}
