import Foundation
import ModelGraph
import TensorCore
import Testing

@testable import Runtime

/// The fusion rewrites (MatMul+bias(+GELU), erf GELU, attention) change speed, not answers.
@Suite struct ExecutorFusionTests {
  /// Max abs difference between fused and unfused runs (rounding order differs).
  static let tolerance: Float = 1e-4

  @Test func miniLMFusesEveryLayerAndKeepsItsOutputs() throws {
    let graph = try ModelFile.load("../shared/models/all-MiniLM-L6-v2/onnx/model.onnx")
    let fused = try Executor(graph: graph)
    let plain = try Executor(graph: graph, optimize: false)
    let ops = fused.steps.map(\.node.opType)
    #expect(ops.filter { $0 == "Attention" }.count == 6)
    #expect(ops.filter { $0 == "FusedMatMul" }.count == 36)
    #expect(fused.steps.filter { $0.node.attributes["activation"] == .string("gelu") }.count == 6)
    #expect(!ops.contains("Erf") && !ops.contains("Softmax"))
    #expect(plain.steps.map(\.node.opType).filter { $0 == "Softmax" }.count == 6)

    // Two sentences of 7 tokens, the second padded after 4.
    let ids: [Int64] = [101, 7592, 2088, 2003, 1037, 3231, 102, 101, 2204, 3185, 102, 0, 0, 0]
    let mask: [Int64] = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0]
    let feeds = [
      "input_ids": Tensor(shape: [2, 7], int64s: ids), "attention_mask": Tensor(shape: [2, 7], int64s: mask),
      "token_type_ids": Tensor(shape: [2, 7], int64s: [Int64](repeating: 0, count: 14)),
    ]
    let a = try #require(try fused.run(feeds)["last_hidden_state"])
    let b = try #require(try plain.run(feeds)["last_hidden_state"])
    #expect(a.shape == [2, 7, 384] && a.shape == b.shape)
    let worst = zip(a.floats, b.floats).map { abs($0 - $1) }.max() ?? .infinity
    #expect(worst <= Self.tolerance, "fused vs plain: \(worst)")
  }

  @Test func geluChainFusesOnlyWhenIntermediatesAreUnshared() throws {
    // y = 0.5 · x · (1 + erf(x / √2)); in the second graph the Erf output is also a graph output.
    func graph(exposeErf: Bool) -> Graph {
      var outputs = [ValueInfo(name: "y", dtype: .float32, shape: nil)]
      if exposeErf { outputs.append(ValueInfo(name: "e", dtype: .float32, shape: nil)) }
      return Graph(
        nodes: [
          Node(name: "div", opType: "Div", inputs: ["x", "sqrt2"], outputs: ["d"]),
          Node(name: "erf", opType: "Erf", inputs: ["d"], outputs: ["e"]),
          Node(name: "add", opType: "Add", inputs: ["e", "one"], outputs: ["a"]),
          Node(name: "mul", opType: "Mul", inputs: ["x", "a"], outputs: ["m"]),
          Node(name: "half", opType: "Mul", inputs: ["m", "half_c"], outputs: ["y"]),
        ],
        initializers: [
          "sqrt2": .scalar(Float(2).squareRoot()), "one": .scalar(1), "half_c": .scalar(0.5),
        ],
        inputs: [ValueInfo(name: "x", dtype: .float32, shape: [.fixed(3), .fixed(5)])], outputs: outputs)
    }
    let x = Tensor.uniform([3, 5], low: -3, high: 3, seed: 11)
    let fused = try Executor(graph: graph(exposeErf: false))
    #expect(fused.steps.map(\.node.opType) == ["Gelu"])
    let shared = try Executor(graph: graph(exposeErf: true))
    #expect(shared.steps.count == 5)
    let y1 = try fused.run(["x": x])["y"]!.floats
    let y2 = try shared.run(["x": x])["y"]!.floats
    #expect(zip(y1, y2).allSatisfy { abs($0 - $1) <= Self.tolerance })
  }

  /// y = Gelu?(x·W + b) + r: the bias, GELU and residual Add all land in one FusedMatMul (its GEMM
  /// epilogue) and give the unfused answer; a residual that only broadcasts to the output still does.
  @Test(arguments: [false, true], [[5, 6], [1, 6]])
  func residualAddFusesIntoTheMatMul(gelu: Bool, residualShape: [Int]) throws {
    var nodes = [
      Node(name: "mm", opType: "MatMul", inputs: ["x", "w"], outputs: ["m"]),
      Node(name: "bias", opType: "Add", inputs: ["m", "b"], outputs: ["h"]),
    ]
    if gelu { nodes.append(Node(name: "gelu", opType: "Gelu", inputs: ["h"], outputs: ["g"])) }
    nodes.append(Node(name: "skip", opType: "Add", inputs: ["r", gelu ? "g" : "h"], outputs: ["y"]))
    let graph = Graph(
      nodes: nodes,
      initializers: [
        "w": .uniform([4, 6], low: -1, high: 1, seed: 1), "b": .uniform([6], low: -1, high: 1, seed: 2),
      ],
      inputs: [
        ValueInfo(name: "x", dtype: .float32, shape: [.fixed(5), .fixed(4)]),
        ValueInfo(name: "r", dtype: .float32, shape: residualShape.map { .fixed($0) }),
      ],
      outputs: [ValueInfo(name: "y", dtype: .float32, shape: nil)], opsetVersion: 20)
    let feeds = [
      "x": Tensor.uniform([5, 4], low: -2, high: 2, seed: 3),
      "r": Tensor.uniform(residualShape, low: -1, high: 1, seed: 4),
    ]
    let fused = try Executor(graph: graph)
    #expect(fused.steps.map(\.node.opType) == ["FusedMatMul"])
    #expect(fused.steps[0].node.inputs == ["x", "w", "b", "r"])
    let plain = try Executor(graph: graph, optimize: false)
    let y1 = try #require(try fused.run(feeds)["y"])
    let y2 = try #require(try plain.run(feeds)["y"])
    #expect(y1.shape == [5, 6] && y1.shape == y2.shape)
    let worst = zip(y1.floats, y2.floats).map { abs($0 - $1) }.max() ?? .infinity
    #expect(worst <= Self.tolerance, "fused vs plain: \(worst)")
  }

  /// Weights packed once at construction give the same outputs as packing on every call: MatMul, and
  /// Gemm with and without transB (nn.Linear exports [N, K] weights with transB = 1).
  @Test(arguments: ["MatMul", "Gemm", "GemmT"])
  func prePackedWeightsGiveTheSameOutputs(op: String) throws {
    let transB = op == "GemmT"
    let node = Node(
      name: "mm", opType: op == "MatMul" ? "MatMul" : "Gemm", inputs: op == "MatMul" ? ["x", "w"] : ["x", "w", "c"],
      outputs: ["y"], attributes: op == "MatMul" ? [:] : ["transB": .int(transB ? 1 : 0), "alpha": .float(0.5)])
    let graph = Graph(
      nodes: [node],
      initializers: [
        "w": .uniform(transB ? [45, 70] : [70, 45], low: -1, high: 1, seed: 5),
        "c": .uniform([45], low: -1, high: 1, seed: 7),
      ],
      inputs: [ValueInfo(name: "x", dtype: .float32, shape: nil)],
      outputs: [ValueInfo(name: "y", dtype: .float32, shape: nil)], opsetVersion: 20)
    let x = Tensor.uniform(op == "MatMul" ? [3, 33, 70] : [33, 70], low: -1, high: 1, seed: 6)
    let packed = try Executor(graph: graph).run(["x": x])["y"]
    let plain = try Executor(graph: graph, selector: DenseKernelSelector(prepackWeights: false)).run(["x": x])["y"]
    #expect(packed?.shape == (op == "MatMul" ? [3, 33, 45] : [33, 45]))
    #expect(packed == plain)
  }
}
