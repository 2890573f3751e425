import TensorCore

/// Rewrites a graph of ai.onnx opset 1–6 into opset 7, the oldest the executor implements, the way
/// `onnx.version_converter` does, so such models run, export and prune like any other.
///
/// Every op whose schema changed between its version at the model's opset and at opset 7 is mapped
/// here (the list comes from `onnx.defs`' schema history); any other op is unchanged at opset 7:
/// - Add/Sub/Mul/Div/Pow/And/Or/Xor/Equal/Greater/Less: legacy `broadcast`/`axis` become
///   multidirectional broadcasting; with `axis`, B gets trailing 1-dims (a reshaped copy of a constant
///   B, else an Unsqueeze) so that it
///   lines up at `axis` of A (A's rank must be known: declared inputs, initializers and the
///   rank-preserving ops in between).
/// - `consumed_inputs` (opset 1 in-place hints) is dropped everywhere; BatchNormalization and Dropout
///   lose `is_test` (inference is the only mode); Gemm loses `broadcast`.
/// - Reshape's `shape` attribute becomes an int64 initializer input; Pad's `paddings` becomes
///   `pads`; Split-1's optional `split` input (an initializer) becomes the attribute; Concat-1
///   without `axis` gets the old default 1; Cast-1's `to` type name becomes its code; LpPool and
///   GlobalLpPool's float `p` becomes an int.
/// - Tile-1, Upsample-1 (experimental), RNN/GRU/LSTM before 7, and an attribute value none of the
///   above maps are errors naming the node and op.
enum ONNXOpsetUpgrade {
  static let targetOpset = 7

  static func upgrade(_ graph: inout Graph, from opset: Int, file: String) throws {
    guard opset < targetOpset else { return }
    var ranks: [String: Int] = [:]
    for info in graph.inputs { if let shape = info.shape { ranks[info.name] = shape.count } }
    for (name, tensor) in graph.initializers { ranks[name] = tensor.rank }
    var nodes: [Node] = []
    var replaced: Set<String> = []  // constants replaced by a reshaped copy
    for var node in graph.nodes {
      func refuse(_ why: String) -> ModelGraphError {
        .invalidModel(
          "\(file): node '\(node.name)' (\(node.opType), opset \(opset)) cannot be upgraded to opset "
            + "\(targetOpset): \(why)")
      }
      guard node.domain.isEmpty else {
        nodes.append(node)
        continue
      }
      node.attributes["consumed_inputs"] = nil
      switch node.opType {
      case "Add", "Sub", "Mul", "Div", "Pow", "And", "Or", "Xor", "Equal", "Greater", "Less":
        let broadcast = node.attributes.removeValue(forKey: "broadcast")
        let axisAttribute = node.attributes.removeValue(forKey: "axis")
        if case .int(1)? = broadcast, case .int(let axis)? = axisAttribute, node.inputs.count == 2 {
          guard let rankA = ranks[node.inputs[0]], let rankB = ranks[node.inputs[1]] else {
            throw refuse("legacy broadcast with axis=\(axis) needs the ranks of both inputs, which are unknown")
          }
          let start = axis < 0 ? axis + rankA : axis
          guard start >= 0, start + rankB <= rankA else {
            throw refuse("axis \(axis) does not fit B (rank \(rankB)) into A (rank \(rankA))")
          }
          let trailing = rankA - start - rankB
          if trailing > 0 {
            let aligned = "\(node.inputs[1])__at_axis_\(start)_of_\(node.name)"
            // A constant B is reshaped in place (pruning's coupling rules see a per-channel constant).
            if let b = graph.initializers[node.inputs[1]] {
              graph.setInitializer(aligned, try b.reshaped(b.shape + [Int](repeating: 1, count: trailing)))
              replaced.insert(node.inputs[1])
              ranks[aligned] = rankB + trailing
              node.inputs[1] = aligned
            } else {
              nodes.append(
              Node(
                name: "\(node.name)__align", opType: "Unsqueeze", inputs: [node.inputs[1]], outputs: [aligned],
                attributes: ["axes": .ints(Array(rankB..<(rankB + trailing)))]))
              node.inputs[1] = aligned
            }
          }
        }
      case "BatchNormalization", "Dropout":
        node.attributes["is_test"] = nil
      case "Gemm":
        node.attributes["broadcast"] = nil
      case "Reshape":
        if let shape = node.attributes.removeValue(forKey: "shape") {
          guard case .ints(let dims) = shape else { throw refuse("attribute shape is not a list of ints") }
          let name = "\(node.name)__shape"
          graph.setInitializer(name, Tensor(shape: [dims.count], int64s: dims.map { Int64($0) }))
          node.inputs = [node.inputs[0], name]
        }
      case "Pad":
        if let pads = node.attributes.removeValue(forKey: "paddings") { node.attributes["pads"] = pads }
      case "Split":
        if node.inputs.count > 1 {
          guard let split = graph.initializers[node.inputs[1]], split.dtype == .int64 || !split.dtype.isFloatingPoint
          else { throw refuse("its split sizes come from a computed input, not a constant") }
          node.attributes["split"] = .ints(split.asInt64s().map { Int($0) })
          node.inputs = [node.inputs[0]]
        }
      case "Concat":
        if node.attributes["axis"] == nil { node.attributes["axis"] = .int(1) }
      case "Cast":
        if case .string(let typeName)? = node.attributes["to"] {
          guard let code = castCodes[typeName.uppercased()] else { throw refuse("unknown type name to='\(typeName)'") }
          node.attributes["to"] = .int(code)
        }
      case "LpPool", "GlobalLpPool":
        if case .float(let p)? = node.attributes["p"] {
          guard p == p.rounded(), p >= 1, p <= 1e6 else { throw refuse("p = \(p) is not a positive integer") }
          node.attributes["p"] = .int(Int(p))
        }
      case "Tile", "Upsample", "RNN", "GRU", "LSTM":
        throw refuse("its semantics changed at opset \(node.opType == "Tile" ? 6 : 7) and no mapping is implemented")
      default: break
      }
      if let rank = outputRank(node, ranks) { for output in node.outputs { ranks[output] = rank } }
      nodes.append(node)
    }
    graph.nodes = nodes
    let read = Set(nodes.flatMap(\.inputs) + graph.outputs.map(\.name))
    for name in replaced where !read.contains(name) { graph.removeInitializer(name) }
    graph.opsetVersion = targetOpset
    graph.metadata["onnx.upgraded_from_opset"] = "\(opset)"
  }

  /// ONNX TensorProto.DataType names (Cast-1 `to`) → codes.
  static let castCodes: [String: Int] = [
    "FLOAT": 1, "UINT8": 2, "INT8": 3, "UINT16": 4, "INT16": 5, "INT32": 6, "INT64": 7, "STRING": 8, "BOOL": 9,
    "FLOAT16": 10, "DOUBLE": 11, "UINT32": 12, "UINT64": 13,
  ]

  /// Output rank of the ops old CNN exports are made of (nil: unknown), for legacy `axis` broadcasts.
  static func outputRank(_ node: Node, _ ranks: [String: Int]) -> Int? {
    let inputRanks = node.inputs.map { ranks[$0] }
    switch node.opType {
    case "Gemm", "Flatten": return 2
    case "Reshape":
      if case .ints(let dims)? = node.attributes["shape"] { return dims.count }
      return nil
    case "Add", "Sub", "Mul", "Div", "Pow", "And", "Or", "Xor", "Equal", "Greater", "Less", "Sum", "Max", "Min",
      "Mean", "MatMul", "PRelu":
      let known = inputRanks.compactMap { $0 }
      return known.count == inputRanks.count ? known.max() : inputRanks.first ?? nil
    case "Unsqueeze":
      if case .ints(let axes)? = node.attributes["axes"], let r = inputRanks.first ?? nil { return r + axes.count }
      return nil
    case "Squeeze":
      if case .ints(let axes)? = node.attributes["axes"], let r = inputRanks.first ?? nil { return r - axes.count }
      return nil
    case "Conv", "ConvTranspose", "MaxPool", "AveragePool", "LpPool", "GlobalAveragePool", "GlobalMaxPool",
      "GlobalLpPool", "BatchNormalization", "InstanceNormalization", "LRN", "Dropout", "Relu", "LeakyRelu",
      "Sigmoid", "Tanh", "Elu", "Selu", "HardSigmoid", "Softmax", "LogSoftmax", "Softplus", "Softsign", "Abs",
      "Neg", "Exp", "Log", "Sqrt", "Reciprocal", "Floor", "Ceil", "Clip", "Identity", "Cast", "Transpose",
      "Concat", "Pad", "Not", "Split", "Slice", "Upsample", "DepthToSpace", "SpaceToDepth":
      return inputRanks.first ?? nil
    default: return nil
    }
  }
}
