import ModelGraph
import Runtime
import Testing

@testable import Pruning
@testable import TensorCore

/// One attention block with explicit head counts in its Reshape targets:
/// x [1, 3, 8] → q/k/v = x·W + b → [1, 3, 2, 4] → heads → softmax(q·kᵀ / 2)·v → [1, 3, 8] → ·Wo
func tinyAttention() -> Graph {
  var b = GraphBuilder(shape: [.fixed(1), .fixed(3), .fixed(8)])
  b.graph.setInitializer("split", Tensor(shape: [4], int64s: [1, 3, 2, 4]))
  b.graph.setInitializer("merge", Tensor(shape: [3], int64s: [1, 3, 8]))
  b.graph.setInitializer("scale", .scalar(2))
  var heads: [String] = []
  for p in ["q", "k", "v"] {
    let y = b.op("MatMul", ["x", b.weight("\(p).w", [8, 8])])
    let biased = b.op("Add", [b.weight("\(p).b", [8]), y])
    let split = b.op("Reshape", [biased, "split"])
    heads.append(b.op("Transpose", [split], ["perm": .ints(p == "k" ? [0, 2, 3, 1] : [0, 2, 1, 3])]))
  }
  let scores = b.op("Div", [b.op("MatMul", [heads[0], heads[1]]), "scale"])
  let context = b.op("MatMul", [b.op("Softmax", [scores], ["axis": .int(-1)]), heads[2]])
  let merged = b.op("Reshape", [b.op("Transpose", [context], ["perm": .ints([0, 2, 1, 3])]), "merge"])
  let y = b.op("MatMul", [merged, b.weight("o.w", [8, 8])])
  return b.output(y, [.fixed(1), .fixed(3), .fixed(8)])
}

@Suite struct AttentionHeadTests {
  @Test func headCountsInReshapeTargetsFollowTheCut() throws {
    var graph = tinyAttention()
    let groups = try AttentionHeads.groups(in: graph)
    let group = try #require(groups.first)
    #expect(groups.count == 1)
    #expect(group.size == 2)
    #expect(group.description.contains("heads of 4"))
    #expect(Set(group.shapeConstants.map(\.value)) == ["split", "merge"])
    // Kill head 0's values so that removing it leaves the output unchanged.
    for name in ["v.w", "v.b"] {
      var t = graph.initializers[name]!
      var values = t.floats
      for i in values.indices where i % 8 < 4 { values[i] = 0 }
      t.floats = values
      graph.initializers[name] = t
    }
    let x = Tensor.normal([1, 3, 8], seed: 3)
    let before = try Executor(graph: graph).run(["x": x])[graph.outputs[0].name]!
    try applyStructured(StructuredPlan(groups: groups, kept: [group.id: [1]]), to: &graph)
    #expect(graph.initializers["split"]?.int64s == [1, 3, 1, 4])
    #expect(graph.initializers["merge"]?.int64s == [1, 3, 4])
    #expect(graph.initializers["o.w"]?.shape == [4, 8])
    #expect(graph.initializers["k.b"]?.shape == [4])
    let after = try Executor(graph: graph).run(["x": x])[graph.outputs[0].name]!
    #expect(maxDifference(before, after) < deadChannelTolerance)
  }

  @Test func fusedProjectionIsAClearError() throws {
    var graph = tinyAttention()
    // Make v's projection read a Split output: not a constant-weight MatMul.
    let index = graph.nodes.firstIndex { $0.opType == "MatMul" && $0.inputs[1] == "v.w" }!
    graph.nodes[index].opType = "Mul"
    #expect(throws: PruningError.self) { try AttentionHeads.groups(in: graph) }
  }
}
