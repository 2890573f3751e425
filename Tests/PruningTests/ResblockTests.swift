import Foundation
import ModelGraph
import Testing

@testable import Pruning
@testable import TensorCore

let fixtures = "../shared/fixtures/onnx"

@Suite struct ResblockTests {
  @Test func groupsOfTheResblockFixture() throws {
    let graph = try ModelFile.load("\(fixtures)/resblock.onnx")
    let dg = DependencyGraph(graph: graph)
    // stem + b (residual partners, balanced over b's 4 conv groups); a (feeds grouped b);
    // down and c (concatenated; feed the head through GAP + Flatten).
    let residual = try #require(dg.group(producedBy: "b.weight"))
    #expect(
      Set(residual.members.filter { $0.role == .output }.map(\.parameter)) == ["onnx::Conv_42", "b.weight"])
    #expect(
      Set(residual.members.filter { $0.role == .input }.map(\.parameter)) == [
        "a.weight", "down.weight", "c.weight",
      ])
    #expect(residual.balancedBlocks == 4)
    #expect(try #require(dg.group(producedBy: "a.weight")).members.contains { $0.convGroups == 4 })
    let c = try #require(dg.group(producedBy: "c.weight"))
    #expect(c.members.contains { $0.parameter == "head.weight" && $0.offset == 32 && $0.role == .input })
    #expect(dg.prunableGroups.count == 4)
    #expect(try #require(dg.group(producedBy: "head.weight")).blockedBy != nil)
  }

  @Test func halfOfEveryGroupGivesConsistentShapes() throws {
    var graph = try ModelFile.load("\(fixtures)/resblock.onnx")
    try pruneStructured(&graph, criterion: MagnitudeImportance(), ratio: 0.5)
    let shapes = graph.initializers.mapValues(\.shape)
    #expect(shapes["onnx::Conv_42"] == [8, 3, 3, 3])
    #expect(shapes["a.weight"] == [8, 8, 3, 3])
    #expect(shapes["b.weight"] == [8, 2, 3, 3])
    #expect(shapes["b.bias"] == [8])
    #expect(shapes["down.weight"] == [16, 8, 1, 1])
    #expect(shapes["c.weight"] == [16, 8, 3, 3])
    #expect(shapes["head.weight"] == [5, 32])
    #expect(graph.nodes.first { $0.name == "/b/Conv" }?.attributes["group"] == .int(4))
    try graph.validate()
  }
}
