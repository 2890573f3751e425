import Foundation
import TensorCore
import Testing

@testable import ModelGraph

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
}
