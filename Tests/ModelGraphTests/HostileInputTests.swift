import Foundation
import Runtime
import TensorCore
import Testing

@testable import ModelGraph

/// Hostile inputs of issue 15 for the ModelGraph parsers and shape checks: each case is a file or
/// graph that once crashed, or was accepted with nonsense, and the fragment its error must contain.
@Suite struct HostileInputTests {
  struct SafeTensorsCase: CustomTestStringConvertible, Sendable {
    var name: String
    var header: String
    var data: Int
    var fragment: String
    var testDescription: String { name }
  }

  static let safeTensorsCases: [SafeTensorsCase] = [
    // 2^62 elements: the header's size computation overflowed (crash in inspect, convert, run --input).
    .init(
      name: "shape of 2^62 elements", header: #"{"w":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,4]}}"#,
      data: 4, fragment: "tensor 'w' shape: expected a size that fits in memory"),
    .init(
      name: "2^31 × 2^31 × 4 bytes", header: #"{"w":{"dtype":"F32","shape":[2147483648,2147483648],"data_offsets":[0,4]}}"#,
      data: 4, fragment: "tensor 'w' shape"),
    .init(
      name: "negative dim", header: #"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: 4,
      fragment: "non-negative integers"),
    .init(
      name: "offsets past the buffer", header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,40]}}"#,
      data: 4, fragment: "data_offsets"),
    .init(
      name: "offset beyond Int", header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,99999999999999999999]}}"#,
      data: 4, fragment: "data_offsets"),
  ]

  @Test(arguments: safeTensorsCases)
  func safeTensorsHeaderIsRefusedNamingFileAndField(_ c: SafeTensorsCase) throws {
    let folder = try TemporaryFolder()
    let path = try folder.write("bad.safetensors", rawSafeTensors(c.header, data: c.data))
    let error = #expect(throws: ModelGraphError.self) { try SafeTensorsFile(path: path) }
    let text = "\(error.map { "\($0)" } ?? "")"
    #expect(text.contains(path), "names the file: \(text)")
    #expect(text.contains(c.fragment), "\(text)")
  }

  /// MLP-like graph x [batch, 784] → Gemm(W1 [300, 784], transB) → Gemm(W2, transB) → y.
  static func twoGemms(w2: [Int]) -> Graph {
    Graph(
      name: "mlp",
      nodes: [
        Node(name: "fc1", opType: "Gemm", inputs: ["x", "W1"], outputs: ["h"], attributes: ["transB": .int(1)]),
        Node(name: "fc2", opType: "Gemm", inputs: ["h", "W2"], outputs: ["y"], attributes: ["transB": .int(1)]),
      ],
      initializers: [
        "W1": Tensor.zeros([300, 784]), "W2": Tensor.zeros(w2),
      ],
      inputs: [ValueInfo(name: "x", dtype: .float32, shape: [.symbolic("batch"), .fixed(784)])],
      outputs: [ValueInfo(name: "y", dtype: .float32, shape: nil)])
  }

  @Test func consistentGraphPassesTheShapeCheck() throws {
    try Self.twoGemms(w2: [100, 300]).checkShapes()
  }

  /// [300, 100] where Gemm (transB) needs [100, 300]: inspect reported wrong MACs, prune/compress/convert
  /// carried it through.
  @Test func transposedWeightIsAnErrorNamingTheNode() throws {
    let error = #expect(throws: ModelGraphError.self) { try Self.twoGemms(w2: [300, 100]).checkShapes() }
    let text = error.map { "\($0)" } ?? ""
    #expect(text.contains("node 'fc2'"), "\(text)")
    #expect(text.contains("K = 300"), "\(text)")
    #expect(text.contains("[300, 100]"), "\(text)")
  }

  @Test func unknownOpIsReportedByTheShapeCheck() throws {
    var graph = Self.twoGemms(w2: [100, 300])
    graph.nodes.append(Node(name: "mystery", opType: "Frobnicate", inputs: ["y"], outputs: ["z"]))
    graph.outputs = [ValueInfo(name: "z", dtype: .float32, shape: nil)]
    let error = #expect(throws: ModelGraphError.self) { try graph.checkShapes() }
    #expect("\(error.map { "\($0)" } ?? "")".contains("op Frobnicate"))
  }

  struct GraphCase: CustomTestStringConvertible, Sendable {
    var name: String
    var node: Node
    var weight: [Int]
    var fragment: String
    var input: [Dim] = [.symbolic("batch"), .fixed(3), .fixed(8), .fixed(8)]
    var testDescription: String { name }
  }

  /// Attribute and rank defects that once trapped inside shape inference (index out of range,
  /// division by zero) instead of throwing.
  static let graphCases: [GraphCase] = [
    .init(
      name: "Conv with stride 0",
      node: Node(name: "c", opType: "Conv", inputs: ["x", "W"], outputs: ["y"], attributes: ["strides": .ints([0, 0])]),
      weight: [2, 3, 3, 3], fragment: "strides"),
    .init(
      name: "Conv with wrong input channels",
      node: Node(name: "c", opType: "Conv", inputs: ["x", "W"], outputs: ["y"]), weight: [2, 5, 3, 3],
      fragment: "node 'c'"),
    .init(
      name: "Conv kernel_shape contradicting W",
      node: Node(name: "c", opType: "Conv", inputs: ["x", "W"], outputs: ["y"], attributes: ["kernel_shape": .ints([5, 5])]),
      weight: [2, 3, 3, 3], fragment: "kernel_shape"),
    .init(
      name: "Gemm with a rank-1 weight", node: Node(name: "g", opType: "Gemm", inputs: ["x", "W"], outputs: ["y"]),
      weight: [3], fragment: "rank 2"),
    .init(
      name: "Transpose with a bad perm",
      node: Node(name: "t", opType: "Transpose", inputs: ["x", "W"], outputs: ["y"], attributes: ["perm": .ints([0, 7, 1, 2])]),
      weight: [1], fragment: "perm"),
    .init(
      name: "GlobalAveragePool on rank 1", node: Node(name: "p", opType: "GlobalAveragePool", inputs: ["x"], outputs: ["y"]),
      weight: [3], fragment: "node 'p'", input: [.fixed(3)]),
  ]

  @Test(arguments: graphCases)
  func malformedNodeThrowsInsteadOfTrapping(_ c: GraphCase) throws {
    var node = c.node
    if node.opType == "Transpose" { node.inputs = ["x"] }
    let graph = Graph(
      nodes: [node], initializers: ["W": Tensor.zeros(c.weight)],
      inputs: [ValueInfo(name: "x", dtype: .float32, shape: c.input)],
      outputs: [ValueInfo(name: "y", dtype: .float32, shape: nil)])
    let error = #expect(throws: ModelGraphError.self) { try graph.checkShapes() }
    let text = error.map { "\($0)" } ?? ""
    #expect(text.contains(c.fragment), "\(text)")
  }

  /// Sizes that overflow Int or cannot be allocated are errors of shape inference, not traps.
  @Test func absurdInputSizesAreRefused() throws {
    let graph = Self.twoGemms(w2: [100, 300])
    let error = #expect(throws: ModelGraphError.self) {
      try graph.costs(inputShapes: ["x": [1 << 62, 784]])
    }
    #expect("\(error.map { "\($0)" } ?? "")".contains("2^40"))
  }

  /// `dim_value: -1` (some exporters' dynamic size) is read as a dynamic dimension, and the model runs.
  @Test func minusOneDimensionIsDynamicAndRuns() throws {
    let data = TinyModel.bytes { model in
      model.graph.input = [TinyModel.value("x", dims: [-1, 4])]
      model.graph.output = [TinyModel.value("y", dims: [-1, 3])]
    }
    let graph = try ONNXImporter.decode(data)
    #expect(graph.inputs[0].shape == [.symbolic(ONNXGraphReader.unknownDim), .fixed(4)])
    try graph.checkShapes()
    let x = Tensor(shape: [2, 4], floats: [1, 0, 0, 0, 0, 1, 0, 0])
    let y = try Executor(graph: graph).run(["x": x])["y"]!
    #expect(y.shape == [2, 3])
    // W = 0...11 as [4, 3]: row 0 of W, then row 1.
    #expect(y.floats == [0, 1, 2, 3, 4, 5])
  }

  @Test func otherNegativeDimensionsAreStillRefused() throws {
    let data = TinyModel.bytes { model in model.graph.input = [TinyModel.value("x", dims: [-2, 4])] }
    let error = #expect(throws: ModelGraphError.self) { try ONNXImporter.decode(data, file: "m.onnx") }
    #expect("\(error.map { "\($0)" } ?? "")".contains("graph input 'x' dim[0]"))
  }
}
