import Foundation
import ModelGraph
import TensorCore
import Testing

@testable import Runtime

/// Shape inference and per-node costs on the ONNX fixtures, against hand-computed counts.
@Suite struct ExecutorCostTests {
  static let fixtures = "../shared/fixtures/onnx"
  static let miniLM = "../shared/models/all-MiniLM-L6-v2/onnx/model.onnx"

  static func load(_ name: String) throws -> Graph {
    try ModelFile.load("\(fixtures)/\(name).onnx")
  }

  /// LeNet-300-100: 784·300 + 300·100 + 100·10 MACs per image; 266,610 parameters.
  @Test func mlpCountsMatchHandComputedValues() throws {
    let graph = try Self.load("mlp")
    let one = try graph.costs(inputShapes: ["input": [1, 1, 28, 28]])
    #expect(one.totals.macs == 266_200)
    #expect(one.totals.parameters == 784 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10)
    #expect(one.totals.weightBytes == one.totals.parameters * 4)
    #expect(one.totals.sparsity == 0)
    let gemms = one.nodes.filter { $0.opType == "Gemm" }
    #expect(gemms.map(\.macs) == [235_200, 30_000, 1_000])
    #expect(gemms.map(\.outputShapes) == [[[1, 300]], [[1, 100]], [[1, 10]]])
    // FLOPs: 2 per MAC plus one bias add per output.
    #expect(gemms[0].flops == 2 * 235_200 + 300)
    #expect(gemms[0].activationBytesRead == 784 * 4)
    #expect(gemms[0].activationBytesWritten == 300 * 4)
    let eight = try graph.costs(inputShapes: ["input": [8, 1, 28, 28]])
    #expect(eight.totals.macs == 8 * 266_200)
    #expect(eight.totals.parameters == one.totals.parameters)
  }

  /// LeNet-5: conv 1→20 5×5 on 28² (24² out), conv 20→50 5×5 on 12² (8² out), FC 800→500→10.
  @Test func lenet5CountsMatchHandComputedValues() throws {
    let costs = try Self.load("lenet5").costs(inputShapes: ["input": [1, 1, 28, 28]])
    let convs = costs.nodes.filter { $0.opType == "Conv" }
    #expect(convs.map(\.macs) == [20 * 24 * 24 * 25, 50 * 8 * 8 * 500])
    #expect(convs.map(\.outputShapes) == [[[1, 20, 24, 24]], [[1, 50, 8, 8]]])
    #expect(costs.totals.macs == 288_000 + 1_600_000 + 400_000 + 5_000)
    #expect(costs.totals.parameters == 500 + 20 + 25_000 + 50 + 400_000 + 500 + 5_000 + 10)
  }

  /// Residual block: conv 3→16, 16→16, grouped 16→16 (4 groups), 1×1 s2 16→32, 3×3 s2 16→32, FC 64→5.
  @Test func resblockCountsMatchHandComputedValues() throws {
    let costs = try Self.load("resblock").costs(inputShapes: ["input": [2, 3, 16, 16]])
    let macs = [16 * 256 * 27, 16 * 256 * 144, 16 * 256 * 36, 32 * 64 * 16, 32 * 64 * 144, 64 * 5]
    #expect(costs.totals.macs == 2 * macs.reduce(0, +))
    #expect(costs.nodes.filter { $0.opType == "Conv" }.map(\.macs) == macs.dropLast().map { 2 * $0 })
  }

  @Test func sparsityCountsZerosAndMasks() throws {
    var graph = try Self.load("mlp")
    var w = graph.initializers["f.1.weight"]!
    var values = w.floats
    for i in 0..<(values.count / 4) { values[i] = 0 }  // a quarter zero
    w.floats = values
    graph.setInitializer("f.1.weight", w)
    var mask = [Float](repeating: 1, count: 100 * 300)
    for i in 0..<(mask.count / 2) { mask[i] = 0 }  // half masked
    graph.masks["f.3.weight"] = Tensor(shape: [100, 300], floats: mask)
    let costs = try graph.costs(inputShapes: ["input": [1, 1, 28, 28]])
    let gemms = costs.nodes.filter { $0.opType == "Gemm" }
    #expect(gemms[0].nonzeroParameters == 784 * 300 * 3 / 4 + 300)
    #expect(gemms[0].nonzeroMACs == 235_200 * 3 / 4)
    #expect(gemms[1].nonzeroMACs == 15_000)
    #expect(abs(gemms[1].sparsity - 15_000.0 / 30_100.0) < 1e-12)
    let expectedZeros = 784 * 300 / 4 + 15_000
    #expect(costs.totals.nonzeroParameters == costs.totals.parameters - expectedZeros)
  }

  @Test func costsRoundTripThroughJSON() throws {
    let costs = try Self.load("resblock").costs()
    let data = try JSONEncoder().encode(costs)
    #expect(try JSONDecoder().decode(GraphCost.self, from: data) == costs)
  }

  @Test func shapeInferenceKeepsSymbolicBatch() throws {
    let graph = try Self.load("lenet5")
    let shapes = try graph.inferShapes(inputShapes: ["input": [3, 1, 28, 28]])
    let output = try #require(shapes[graph.outputs[0].name])
    #expect(output.dims == [.symbolic("batch"), .fixed(10)])
    #expect(output.concrete == [3, 10])
    #expect(output.dtype == .float32)
  }

  @Test func shapeInferenceFollowsMiniLMShapeSubgraphs() throws {
    let graph = try ModelFile.load(Self.miniLM)
    let shapes = try graph.inferShapes(inputShapes: [
      "input_ids": [2, 5], "attention_mask": [2, 5], "token_type_ids": [2, 5],
    ])
    let hidden = try #require(shapes["last_hidden_state"])
    #expect(hidden.concrete == [2, 5, 384])
    #expect(hidden.dims == [.symbolic("batch"), .symbolic("sequence"), .fixed(384)])
    // Attention scores: [batch, heads, sequence, sequence].
    let scores = try #require(shapes["/m/encoder/layer.0/attention/self/Softmax_output_0"])
    #expect(scores.dims == [.symbolic("batch"), .fixed(12), .symbolic("sequence"), .symbolic("sequence")])
    let costs = try graph.costs(inputShapes: [
      "input_ids": [1, 128], "attention_mask": [1, 128], "token_type_ids": [1, 128],
    ])
    // Per token and layer: Q, K, V, O (384²) and the two FFN matrices (384·1536), plus attention
    // QKᵀ and AV (2 · 128 · 384 per token).
    let perToken = 4 * 384 * 384 + 2 * 384 * 1536 + 2 * 128 * 384
    #expect(costs.totals.macs == 6 * 128 * perToken)
  }

  @Test func unsupportedOpNamesNodeOpAndOpset() throws {
    let graph = Graph(
      nodes: [Node(name: "weird_0", opType: "NonMaxSuppression", inputs: ["x"], outputs: ["y"])],
      inputs: [ValueInfo(name: "x", dtype: .float32, shape: [.fixed(2)])],
      outputs: [ValueInfo(name: "y", dtype: .float32, shape: nil)], opsetVersion: 17)
    #expect(
      throws: ModelGraphError.unsupportedOp(
        node: "weird_0", opType: "NonMaxSuppression", domain: "", opset: 17)
    ) {
      try Executor(graph: graph)
    }
    let custom = Graph(
      nodes: [Node(name: "ms", opType: "Gelu", domain: "com.microsoft", inputs: ["x"], outputs: ["y"])],
      inputs: [ValueInfo(name: "x", dtype: .float32, shape: [.fixed(2)])],
      outputs: [ValueInfo(name: "y", dtype: .float32, shape: nil)], opsetVersion: 17)
    let error = try #require(throws: ModelGraphError.self) { try Executor(graph: custom) }
    #expect("\(error)".contains("ms") && "\(error)".contains("com.microsoft") && "\(error)".contains("17"))
  }

  @Test func unsupportedAttributeIsAnErrorNotAWrongAnswer() throws {
    let graph = Graph(
      nodes: [
        Node(
          name: "bn", opType: "BatchNormalization", inputs: ["x", "s", "b", "m", "v"], outputs: ["y"],
          attributes: ["training_mode": .int(1)])
      ],
      initializers: [
        "s": .filled([2], with: 1), "b": .zeros([2]), "m": .zeros([2]), "v": .filled([2], with: 1),
      ],
      inputs: [ValueInfo(name: "x", dtype: .float32, shape: [.fixed(1), .fixed(2)])],
      outputs: [ValueInfo(name: "y", dtype: .float32, shape: nil)], opsetVersion: 15)
    let executor = try Executor(graph: graph)
    #expect(
      throws: ModelGraphError.unsupportedAttribute(
        node: "bn", opType: "BatchNormalization", attribute: "training_mode", value: "1")
    ) {
      try executor.run(["x": .zeros([1, 2])])
    }
  }
}
