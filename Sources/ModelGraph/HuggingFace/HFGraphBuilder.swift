import TensorCore

/// Appends nodes to a graph in topological order. Each node's single output value takes the node's
/// name, so values read as Hugging Face module names ("encoder.layer.0.attention.self.query").
struct HFGraphBuilder {
  var graph: Graph

  /// Adds a node whose output is named after it; returns the output name.
  @discardableResult
  mutating func node(
    _ name: String, _ opType: String, _ inputs: [String], _ attributes: [String: Attribute] = [:]
  ) -> String {
    graph.nodes.append(
      Node(name: name, opType: opType, inputs: inputs, outputs: [name], attributes: attributes))
    return name
  }

  /// A `Constant` node holding an int64 vector: shape constants stay out of the weights (so saving the
  /// initializers gives back the checkpoint) yet remain visible to passes that rewrite them.
  mutating func constant(_ name: String, int64s values: [Int64]) -> String {
    node(name, "Constant", [], ["value": .tensor(Tensor(shape: [values.count], int64s: values))])
  }

  /// A `Constant` node holding a Float32 scalar.
  mutating func constant(_ name: String, float value: Float) -> String {
    node(name, "Constant", [], ["value": .tensor(.scalar(value))])
  }

  /// y = x · Wᵀ + b with HF nn.Linear layout W: [out, in] (ONNX Gemm, transB = 1). x: [tokens, in].
  mutating func linear(_ module: String, _ x: String, weight: String, bias: String) -> String {
    node(module, "Gemm", [x, weight, bias], ["transB": .int(1)])
  }

  /// ONNX LayerNormalization over the last axis (opset 17).
  mutating func layerNorm(_ module: String, _ x: String, scale: String, bias: String, epsilon: Float)
    -> String
  {
    node(module, "LayerNormalization", [x, scale, bias], ["axis": .int(-1), "epsilon": .float(epsilon)])
  }
}
