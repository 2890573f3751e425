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
  public var storesOtherFloatTypes: Bool { stores(Self.computesAsFloat32, castCodes: Self.widenedCastCodes) }

  /// Whether any input, output, constant, tensor attribute or Cast target is of a type `isStored`
  /// (a Cast's `to` among `castCodes`).
  func stores(_ isStored: (DType) -> Bool, castCodes: Set<Int>) -> Bool {
    inputs.contains { isStored($0.dtype) }
      || outputs.contains { isStored($0.dtype) }
      || initializers.values.contains { isStored($0.dtype) }
      || nodes.contains { node in
        if node.opType == "Cast", case .int(let to)? = node.attributes["to"] { return castCodes.contains(to) }
        return node.attributes.values.contains {
          if case .tensor(let t) = $0 { return isStored(t.dtype) }
          return false
        }
      }
  }

  /// This graph with every input, output, constant and tensor attribute of a type `isStored`
  /// converted to `target` (Casts are left to the caller).
  func widening(_ isStored: (DType) -> Bool, to target: DType) -> Graph {
    var g = self
    for (name, t) in g.initializers where isStored(t.dtype) { g.initializers[name] = t.converted(to: target) }
    for i in g.inputs.indices where isStored(g.inputs[i].dtype) { g.inputs[i].dtype = target }
    for i in g.outputs.indices where isStored(g.outputs[i].dtype) { g.outputs[i].dtype = target }
    for n in g.nodes.indices {
      for (key, value) in g.nodes[n].attributes {
        if case .tensor(let t) = value, isStored(t.dtype) { g.nodes[n].attributes[key] = .tensor(t.converted(to: target)) }
      }
    }
    return g
  }

  /// Appends `node` writing to `output__typeName` instead and returns the Cast (to code `to`) that
  /// widens that value back into `output`.
  static func castThenWiden(_ node: Node, output: String, typeName: String, to: Int, into nodes: inout [Node]) -> Node {
    let narrow = "\(output)__\(typeName)"
    var first = node
    first.outputs = [narrow]
    nodes.append(first)
    return Node(
      name: "\(node.name)__widen", opType: "Cast", inputs: [narrow], outputs: [output], attributes: ["to": .int(to)])
  }

  /// This graph computing in Float32 (see the type comment); unchanged when it has no such types.
  public func computingInFloat32() -> Graph {
    guard storesOtherFloatTypes else { return self }
    var g = widening(Self.computesAsFloat32, to: .float32)
    var nodes: [Node] = []
    for var node in g.nodes {
      if node.opType == "Cast", case .int(let to)? = node.attributes["to"],
        Self.widenedCastCodes.contains(to),
        let output = node.outputs.first
      {
        if to != 11 {
          // A cast to float16/bfloat16 still rounds: cast there, then widen to Float32.
          node = Self.castThenWiden(node, output: output, typeName: to == 10 ? "float16" : "bfloat16", to: 1, into: &nodes)
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
