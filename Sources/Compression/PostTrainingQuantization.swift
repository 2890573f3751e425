import ModelGraph
import TensorCore

/// Post-training int8 quantization of a graph's linear layers (MatMul, and Gemm with transA = 0,
/// α = β = 1, whose weight is a 2-D Float32 initializer), written as standard ONNX ops that
/// onnxruntime runs and PruneKit's executor fuses into one `Int8MatMul` per layer:
///
///     weights (symmetric int8):  sw_j = max_p |W[p, j]| / 127 (per output channel; per tensor: one),
///                                Wq = clamp(round(W / sw), −127, 127)
///     activations, dynamic:      s = Max(ReduceMax(Abs X, axis −1) / 127, 1e-30)   one scale per row
///     activations, static:       s = a calibrated constant (`activationScales[node]`)
///     Y = Cast(MatMulInteger(Cast(Clip(Round(X / s), −127, 127), int8), Wq), float) · s · sw  (+ bias)
///
/// Per-row ("per token") activation scales and per-channel weight scales are what keep a transformer's
/// embeddings close to Float32; onnxruntime's `quantize_dynamic` uses one uint8 scale per tensor.
public struct Int8QuantizationOptions: Sendable {
  /// One weight scale per output channel (true) or per tensor.
  public var perChannel = true
  /// Node names or weight initializer names left in Float32.
  public var keepFloat: Set<String> = []
  /// Static activation scales by node name (from calibration); layers not listed are dynamic.
  public var activationScales: [String: Float] = [:]

  public init(perChannel: Bool = true, keepFloat: Set<String> = [], activationScales: [String: Float] = [:]) {
    self.perChannel = perChannel
    self.keepFloat = keepFloat
    self.activationScales = activationScales
  }
}

/// What happened to one linear layer.
public struct Int8LayerReport: Sendable, Codable {
  public var node: String
  public var weight: String
  public var shape: [Int]
  /// "dynamic", "static" or "float" (kept).
  public var activations: String
  /// max |W − Wq·sw| over the layer.
  public var maxWeightError: Float
}

/// The weight's int8 values ([k][n] row-major, op(W) = W or Wᵀ) and scales ([n], or [1] per tensor).
public func quantizeWeightSymmetric(_ w: [Float], k: Int, n: Int, transposed: Bool, perChannel: Bool) -> (
  values: [Int8], scales: [Float]
) {
  func at(_ p: Int, _ j: Int) -> Float { transposed ? w[j * k + p] : w[p * n + j] }
  var peak = [Float](repeating: 0, count: perChannel ? n : 1)
  for p in 0..<k {
    for j in 0..<n { peak[perChannel ? j : 0] = max(peak[perChannel ? j : 0], abs(at(p, j))) }
  }
  // An all-zero channel gets scale 1 (its values are 0 whatever the scale; a zero scale is invalid).
  let scales = peak.map { $0 > 0 && $0.isFinite ? $0 / 127 : 1 }
  var q = [Int8](repeating: 0, count: k * n)
  for p in 0..<k {
    for j in 0..<n {
      let v = (at(p, j) / scales[perChannel ? j : 0]).rounded(.toNearestOrEven)
      q[p * n + j] = Int8(max(-127, min(127, v.isNaN ? 0 : v)))
    }
  }
  return (q, scales)
}

/// The graph with every eligible linear layer quantized, and a report per layer.
public func quantizeForInt8Execution(
  _ graph: Graph, options: Int8QuantizationOptions = Int8QuantizationOptions()
) throws -> (
  Graph, [Int8LayerReport]
) {
  guard graph.opsetVersion >= 11 else {
    throw CompressionError.invalidArgument(
      what: "model opset", expected: "≥ 11 (Round and Clip with min/max inputs)",
      found: "\(graph.opsetVersion)")
  }
  for (name, s) in options.activationScales where s == 0 || !s.isFinite {
    throw CompressionError.invalidArgument(
      what: "activation scale of '\(name)'", expected: "a finite, non-zero scale", found: "\(s)")
  }
  var g = graph
  var nodes: [Node] = []
  var reports: [Int8LayerReport] = []
  let constants: [(String, Float)] = [
    ("quant/127", 127), ("quant/floor", rowScaleFloor), ("quant/-127", -127),
  ]
  var usedConstants = false
  for node in graph.nodes {
    guard let layer = linearWeight(node, graph), !options.keepFloat.contains(node.name),
      !options.keepFloat.contains(node.inputs[1])
    else {
      if let layer = linearWeight(node, graph) {
        reports.append(
          Int8LayerReport(
            node: node.name, weight: node.inputs[1], shape: layer.shape, activations: "float",
            maxWeightError: 0))
      }
      nodes.append(node)
      continue
    }
    let (k, n) = (layer.k, layer.n)
    let w = graph.initializers[node.inputs[1]]!.floats
    let (q, scales) = quantizeWeightSymmetric(
      w, k: k, n: n, transposed: layer.transposed, perChannel: options.perChannel)
    var error: Float = 0
    for p in 0..<k {
      for j in 0..<n {
        let original = layer.transposed ? w[j * k + p] : w[p * n + j]
        error = max(error, abs(original - Float(q[p * n + j]) * scales[options.perChannel ? j : 0]))
      }
    }
    let p = node.name.isEmpty ? "linear\(nodes.count)" : node.name
    let wq = node.inputs[1] + "_int8"
    let sw = node.inputs[1] + "_scale"
    g.setInitializer(wq, try Tensor(shape: [k, n], dtype: .int8, bytes: q.map { UInt8(bitPattern: $0) }))
    g.setInitializer(sw, Tensor(shape: [scales.count], floats: scales))
    let x = node.inputs[0]
    var chain: [Node] = []
    let scale: String
    if let s = options.activationScales[node.name] {
      scale = p + "/activation_scale"
      g.setInitializer(scale, Tensor(shape: [], floats: [s]))
    } else {
      scale = p + "/scale"
      var reduce = Node(name: p + "/reduce", opType: "ReduceMax", inputs: [p + "/abs"], outputs: [p + "/max"])
      if graph.opsetVersion >= 18 {
        reduce.inputs.append("quant/axes")
        g.setInitializer("quant/axes", Tensor(shape: [1], int64s: [-1]))
      } else {
        reduce.attributes["axes"] = .ints([-1])
      }
      reduce.attributes["keepdims"] = .int(1)
      chain += [
        Node(name: p + "/abs", opType: "Abs", inputs: [x], outputs: [p + "/abs"]), reduce,
        Node(
          name: p + "/div127", opType: "Div", inputs: [p + "/max", "quant/127"], outputs: [p + "/scale0"]),
        Node(name: p + "/floor", opType: "Max", inputs: [p + "/scale0", "quant/floor"], outputs: [scale]),
      ]
    }
    let product = layer.bias == nil ? node.outputs[0] : p + "/product"
    chain += [
      Node(name: p + "/divide", opType: "Div", inputs: [x, scale], outputs: [p + "/scaled"]),
      Node(name: p + "/round", opType: "Round", inputs: [p + "/scaled"], outputs: [p + "/rounded"]),
      Node(
        name: p + "/clip", opType: "Clip", inputs: [p + "/rounded", "quant/-127", "quant/127"],
        outputs: [p + "/clipped"]),
      Node(
        name: p + "/to_int8", opType: "Cast", inputs: [p + "/clipped"], outputs: [p + "/xq"],
        attributes: ["to": .int(3)]),
      Node(
        name: p + "/matmul_integer", opType: "MatMulInteger", inputs: [p + "/xq", wq], outputs: [p + "/acc"]),
      Node(
        name: p + "/to_float", opType: "Cast", inputs: [p + "/acc"], outputs: [p + "/accf"],
        attributes: ["to": .int(1)]),
      Node(name: p + "/row_scale", opType: "Mul", inputs: [p + "/accf", scale], outputs: [p + "/rows"]),
      Node(name: p + "/weight_scale", opType: "Mul", inputs: [p + "/rows", sw], outputs: [product]),
    ]
    if let bias = layer.bias {
      chain.append(Node(name: p + "/bias", opType: "Add", inputs: [product, bias], outputs: node.outputs))
    }
    usedConstants = true
    nodes += chain
    if !graph.nodes.contains(where: { $0 != node && $0.inputs.contains(node.inputs[1]) }) {
      g.initializers[node.inputs[1]] = nil
    }
    reports.append(
      Int8LayerReport(
        node: node.name, weight: node.inputs[1], shape: layer.shape,
        activations: options.activationScales[node.name] == nil ? "dynamic" : "static", maxWeightError: error)
    )
  }
  if usedConstants {
    for (name, v) in constants { g.setInitializer(name, Tensor(shape: [], floats: [v])) }
  }
  g.nodes = nodes
  return (g, reports)
}

/// A MatMul / Gemm whose weight is a 2-D Float32 initializer: op(W) is [k, n]; `bias` is Gemm's C.
struct LinearWeight {
  var k: Int
  var n: Int
  var transposed: Bool
  var bias: String?
  var shape: [Int]
}

func linearWeight(_ node: Node, _ graph: Graph) -> LinearWeight? {
  guard node.domain.isEmpty, node.inputs.count >= 2, let w = graph.initializers[node.inputs[1]], w.rank == 2,
    w.dtype == .float32, w.count > 0
  else { return nil }
  if node.opType == "MatMul" {
    return LinearWeight(k: w.shape[0], n: w.shape[1], transposed: false, bias: nil, shape: w.shape)
  }
  guard node.opType == "Gemm" else { return nil }
  func int(_ name: String) -> Int { if case .int(let v)? = node.attributes[name] { return v }; return 0 }
  func float(_ name: String) -> Float {
    switch node.attributes[name] {
    case .float(let v)?: return v
    case .int(let v)?: return Float(v)
    default: return 1
    }
  }
  guard int("transA") == 0, float("alpha") == 1, float("beta") == 1 else { return nil }
  let transposed = int("transB") != 0
  let n = transposed ? w.shape[0] : w.shape[1]
  var bias: String? = nil
  if node.inputs.count > 2, !node.inputs[2].isEmpty {
    guard let c = graph.initializers[node.inputs[2]], c.dtype == .float32, c.count == n else { return nil }
    bias = node.inputs[2]
  }
  return LinearWeight(
    k: transposed ? w.shape[1] : w.shape[0], n: n, transposed: transposed, bias: bias, shape: w.shape)
}
