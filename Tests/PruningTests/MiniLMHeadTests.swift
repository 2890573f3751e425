import Foundation
import ModelGraph
import Runtime
import Testing

@testable import Pruning
@testable import TensorCore

let miniLMPath = "../shared/models/all-MiniLM-L6-v2/onnx/model.onnx"

/// Token ids of a short sentence ([CLS] … [SEP]) with its attention mask, batch 1.
func miniLMInputs(length: Int = 7) -> [String: Tensor] {
  let ids: [Int64] = [101, 7592, 2088, 2003, 1037, 3231, 102].prefix(length).map { $0 }
  return [
    "input_ids": Tensor(shape: [1, ids.count], int64s: ids),
    "attention_mask": Tensor(shape: [1, ids.count], int64s: ids.map { _ in 1 }),
    "token_type_ids": Tensor(shape: [1, ids.count], int64s: ids.map { _ in 0 }),
  ]
}

@Suite(.serialized) struct MiniLMHeadTests {
  @Test func headsAndFeedForwardGroupsAreFound() throws {
    let graph = try ModelFile.load(miniLMPath)
    let heads = try AttentionHeads.groups(in: graph)
    #expect(heads.count == 6)
    for group in heads {
      #expect(group.kind == .heads(headDim: 32))
      #expect(group.size == 12)
      #expect(group.members.filter { $0.role == .output }.count == 3)
      #expect(group.members.filter { $0.role == .input }.count == 1)
    }
    // Channel coupling: only the six feed-forward intermediates (1536) are free; the hidden size
    // reaches the output and the q/k/v channels meet run-time Reshapes.
    let free = DependencyGraph(graph: graph).prunableGroups
    #expect(free.map(\.size) == Array(repeating: 1536, count: 6))
  }

  @Test func removingHeadsKeepsTheModelRunnable() throws {
    var graph = try ModelFile.load(miniLMPath)
    let heads = try AttentionHeads.groups(in: graph)
    let plan = try StructuredPruner(criterion: MagnitudeImportance(), ratio: 0.5).plan(
      for: graph, groups: heads)
    // Dead heads: zero value columns and biases of the heads to be removed → their context is 0,
    // so removing them must not change the output.
    for group in heads {
      let kept = Set(plan.kept[group.id]!)
      for member in group.members where member.role != .input && member.node.contains("value") {
        var t = graph.initializers[member.parameter]!
        var values = t.floats
        let step = Tensor.strides(of: t.shape)[member.axis]
        for i in values.indices where !kept.contains((i / step) % t.shape[member.axis] / 32) { values[i] = 0 }
        t.floats = values
        graph.initializers[member.parameter] = t
      }
    }
    let inputs = miniLMInputs()
    let before = try #require(try Executor(graph: graph).run(inputs)["last_hidden_state"])
    try applyStructured(plan, to: &graph)
    let q = graph.nodes.first { $0.name == "/m/encoder/layer.0/attention/self/query/MatMul" }!.inputs[1]
    #expect(graph.initializers[q]?.shape == [384, 192])
    let after = try #require(try Executor(graph: graph).run(inputs)["last_hidden_state"])
    #expect(after.shape == [1, 7, 384])
    #expect(maxDifference(before, after) < 1e-3)
    let macs = try graph.costs(inputShapes: ["input_ids": [1, 7]]).totals.macs
    let denseMacs = try ModelFile.load(miniLMPath).costs(inputShapes: ["input_ids": [1, 7]]).totals.macs
    #expect(macs < denseMacs)
  }
}
