import ModelGraph
import TensorCore

/// The LeNet models of Han et al. 2015 ("Learning both Weights and Connections", Table 1), as
/// graphs with PyTorch-default initial weights (`Initializer.kaimingUniform`, `defaultBias`).
///
/// Input `input`: float [N, 1, 28, 28], normalised as `MNIST.mean`/`MNIST.std`; output `logits` [N, 10].
/// Parameter names follow PyTorch's `state_dict` (`fc1.weight`, …), weights [out, in] (Gemm transB = 1).
public enum LeNet {
  /// LeNet-300-100: Flatten → 784-300 → ReLU → 300-100 → ReLU → 100-10. 266,610 parameters.
  public static func lenet300100(seed: UInt64) -> Graph {
    var builder = GraphBuilder(name: "lenet-300-100", seed: seed)
    var x = builder.flatten("input")
    x = builder.relu(builder.linear(x, "fc1", in: 784, out: 300))
    x = builder.relu(builder.linear(x, "fc2", in: 300, out: 100))
    _ = builder.linear(x, "fc3", in: 100, out: 10, output: "logits")
    return builder.graph
  }

  /// LeNet-5 as the Caffe example Han et al. prune: conv 20@5×5 → maxpool 2 → conv 50@5×5 →
  /// maxpool 2 → Flatten (800) → 800-500 → ReLU → 500-10. As in Caffe, no nonlinearity after the
  /// convolutions. 431,080 parameters.
  public static func lenet5(seed: UInt64) -> Graph {
    var builder = GraphBuilder(name: "lenet-5", seed: seed)
    var x = builder.maxPool(builder.conv("input", "conv1", in: 1, out: 20, kernel: 5))
    x = builder.maxPool(builder.conv(x, "conv2", in: 20, out: 50, kernel: 5))
    x = builder.flatten(x)
    x = builder.relu(builder.linear(x, "fc1", in: 800, out: 500))
    _ = builder.linear(x, "fc2", in: 500, out: 10, output: "logits")
    return builder.graph
  }
}

/// Appends nodes and PyTorch-initialised parameters to a graph with input `input` [N, 1, 28, 28].
struct GraphBuilder {
  var graph: Graph
  var seed: UInt64
  private var counter = 0

  init(name: String, seed: UInt64) {
    self.seed = seed
    graph = Graph(
      name: name,
      inputs: [
        ValueInfo(name: "input", dtype: .float32, shape: [.symbolic("N"), .fixed(1), .fixed(28), .fixed(28)])
      ],
      outputs: [ValueInfo(name: "logits", dtype: .float32, shape: [.symbolic("N"), .fixed(10)])],
      opsetVersion: 17,
      metadata: ["producer": "PruneKit Training", "input_normalisation": "(pixel/255 - 0.1307) / 0.3081"])
  }

  private mutating func nextSeed() -> UInt64 {
    counter += 1
    return seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(counter)
  }

  private mutating func add(
    _ op: String, _ inputs: [String], _ output: String? = nil, _ attributes: [String: Attribute] = [:]
  ) -> String {
    let name = output ?? "\(op.lowercased())_\(graph.nodes.count)"
    graph.nodes.append(
      Node(
        name: "\(op)_\(graph.nodes.count)", opType: op, inputs: inputs, outputs: [name],
        attributes: attributes))
    return name
  }

  mutating func linear(_ x: String, _ prefix: String, in inputs: Int, out outputs: Int, output: String? = nil)
    -> String
  {
    graph.setInitializer("\(prefix).weight", Initializer.kaimingUniform([outputs, inputs], seed: nextSeed()))
    graph.setInitializer(
      "\(prefix).bias", Initializer.defaultBias(count: outputs, fanIn: inputs, seed: nextSeed()))
    return add("Gemm", [x, "\(prefix).weight", "\(prefix).bias"], output, ["transB": .int(1)])
  }

  mutating func conv(_ x: String, _ prefix: String, in inputs: Int, out outputs: Int, kernel: Int) -> String {
    let shape = [outputs, inputs, kernel, kernel]
    graph.setInitializer("\(prefix).weight", Initializer.kaimingUniform(shape, seed: nextSeed()))
    graph.setInitializer(
      "\(prefix).bias",
      Initializer.defaultBias(count: outputs, fanIn: inputs * kernel * kernel, seed: nextSeed()))
    return add(
      "Conv", [x, "\(prefix).weight", "\(prefix).bias"], nil, ["kernel_shape": .ints([kernel, kernel])])
  }

  mutating func relu(_ x: String) -> String { add("Relu", [x]) }

  mutating func flatten(_ x: String) -> String { add("Flatten", [x], nil, ["axis": .int(1)]) }

  mutating func maxPool(_ x: String) -> String {
    add("MaxPool", [x], nil, ["kernel_shape": .ints([2, 2]), "strides": .ints([2, 2])])
  }
}
