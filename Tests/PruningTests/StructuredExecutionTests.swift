import Foundation
import ModelGraph
import Runtime
import Testing

@testable import Pruning
@testable import TensorCore

/// Largest absolute difference allowed between a model with dead channels and the same model with
/// those channels removed (only float summation order differs).
let deadChannelTolerance: Float = 1e-4

/// Zeroes the output rows and per-channel vectors of every unit the plan removes, so those channels
/// carry exact zeros: removing them must then leave the outputs unchanged.
func deadenRemovedUnits(_ plan: StructuredPlan, in graph: inout Graph) {
  for group in plan.groups {
    let kept = Set(plan.kept[group.id] ?? [])
    for member in group.members where member.role != .input {
      guard var t = graph.initializers[member.parameter] else { continue }
      var values = t.floats
      let along = t.shape[member.axis]
      let step = Tensor.strides(of: t.shape)[member.axis]
      for i in 0..<values.count {
        let position = (i / step) % along - member.offset
        if position >= 0, position < group.size * member.width, !kept.contains(position / member.width) {
          values[i] = 0
        }
      }
      t.floats = values
      graph.initializers[member.parameter] = t
    }
  }
}

func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
  zip(a.floats, b.floats).map { abs($0 - $1) }.max() ?? 0
}

@Suite struct StructuredExecutionTests {
  @Test(arguments: ["residual", "resblock"])
  func removingDeadChannelsKeepsTheOutputs(model: String) throws {
    var graph = model == "resblock" ? try ModelFile.load("\(fixtures)/resblock.onnx") : residualGraph()
    let plan = try StructuredPruner(criterion: RandomImportance(seed: 4), ratio: 0.5)
      .plan(for: graph, groups: DependencyGraph(graph: graph).prunableGroups)
    deadenRemovedUnits(plan, in: &graph)
    let shape = model == "resblock" ? [2, 3, 16, 16] : [2, 3, 6, 6]
    let x = Tensor.normal(shape, seed: 8)
    let inputName = graph.inputs[0].name
    let outputName = graph.outputs[0].name
    let before = try Executor(graph: graph).run([inputName: x])[outputName]!
    var pruned = graph
    try applyStructured(plan, to: &pruned)
    let after = try Executor(graph: pruned).run([inputName: x])[outputName]!
    #expect(after.shape == before.shape)
    #expect(maxDifference(before, after) < deadChannelTolerance)
  }

  @Test func prunedResblockRunsExportsAndCostsLess() throws {
    let original = try ModelFile.load("\(fixtures)/resblock.onnx")
    var graph = original
    try pruneStructured(&graph, criterion: MagnitudeImportance(), ratio: 0.5)
    let x = Tensor.normal([3, 3, 16, 16], seed: 2)
    let y = try #require(try Executor(graph: graph).run(["input": x])["output"])
    #expect(y.shape == [3, 5])
    // Softmax rows still sum to one.
    for row in 0..<3 { #expect(abs(y.floats[row * 5..<row * 5 + 5].reduce(0, +) - 1) < 1e-5) }
    // MACs: every conv lost half its inputs and/or outputs (stem: outputs only).
    let before = try original.costs(inputShapes: ["input": [1, 3, 16, 16]]).totals.macs
    let after = try graph.costs(inputShapes: ["input": [1, 3, 16, 16]]).totals.macs
    #expect(after < before / 3)
    // Export and load back: same outputs.
    let path = FileManager.default.temporaryDirectory.appendingPathComponent(
      "pruned-resblock-\(getpid()).onnx"
    ).path
    defer { try? FileManager.default.removeItem(atPath: path) }
    try ModelFile.save(graph, to: path)
    let reloaded = try ModelFile.load(path)
    let y2 = try #require(try Executor(graph: reloaded).run(["input": x])["output"])
    #expect(maxDifference(y, y2) == 0)
  }
}
