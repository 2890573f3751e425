import ModelGraph
import Testing

@testable import Pruning
@testable import TensorCore

/// Builds small graphs by hand: conv(name, in, out, cin, cout, groups) etc. with seeded weights.
struct GraphBuilder {
  var graph = Graph()
  var seed: UInt64 = 100

  init(input: String = "x", shape: [Dim]) {
    graph.inputs = [ValueInfo(name: input, dtype: .float32, shape: shape)]
  }

  mutating func weight(_ name: String, _ shape: [Int]) -> String {
    seed += 1
    graph.setInitializer(name, Tensor.normal(shape, std: 0.5, seed: seed))
    return name
  }

  mutating func conv(_ name: String, _ x: String, cin: Int, cout: Int, k: Int = 3, groups: Int = 1) -> String
  {
    let w = weight("\(name).w", [cout, cin / groups, k, k])
    let b = weight("\(name).b", [cout])
    let pad = k / 2
    graph.nodes.append(
      Node(
        name: name, opType: "Conv", inputs: [x, w, b], outputs: ["\(name).y"],
        attributes: [
          "group": .int(groups), "kernel_shape": .ints([k, k]), "pads": .ints([pad, pad, pad, pad]),
        ]))
    return "\(name).y"
  }

  mutating func gemm(_ name: String, _ x: String, k: Int, n: Int) -> String {
    let w = weight("\(name).w", [n, k])
    let b = weight("\(name).b", [n])
    graph.nodes.append(
      Node(
        name: name, opType: "Gemm", inputs: [x, w, b], outputs: ["\(name).y"], attributes: ["transB": .int(1)]
      ))
    return "\(name).y"
  }

  mutating func op(_ type: String, _ inputs: [String], _ attributes: [String: Attribute] = [:]) -> String {
    let name = "\(type.lowercased())\(graph.nodes.count)"
    graph.nodes.append(
      Node(name: name, opType: type, inputs: inputs, outputs: ["\(name).y"], attributes: attributes))
    return "\(name).y"
  }

  mutating func output(_ value: String, _ shape: [Dim]) -> Graph {
    graph.outputs = [ValueInfo(name: value, dtype: .float32, shape: shape)]
    return graph
  }
}

/// conv(3→8) → relu → conv(8→8) → add(residual) → GAP → flatten → gemm(8→4)
func residualGraph() -> Graph {
  var b = GraphBuilder(shape: [.symbolic("N"), .fixed(3), .fixed(6), .fixed(6)])
  let c1 = b.conv("c1", "x", cin: 3, cout: 8)
  let r = b.op("Relu", [c1])
  let c2 = b.conv("c2", r, cin: 8, cout: 8)
  let sum = b.op("Add", [r, c2])
  let pooled = b.op("GlobalAveragePool", [sum])
  let flat = b.op("Flatten", [pooled], ["axis": .int(1)])
  return b.output(b.gemm("fc", flat, k: 8, n: 4), [.symbolic("N"), .fixed(4)])
}

@Suite struct CouplingTests {
  @Test func linearChainCouplesBiasAndNextInput() throws {
    let groups = DependencyGraph(graph: tinyMLP()).groups
    let hidden = try #require(groups.first { $0.members.contains { $0.parameter == "w1" } })
    #expect(hidden.isPrunable)
    #expect(hidden.size == 6)
    let cut = Set(hidden.members.map { "\($0.role.rawValue) \($0.parameter)/\($0.axis)" })
    #expect(cut == ["output w1/0", "vector b1/0", "input w2/1"])
    // The last layer reaches the graph output.
    let last = try #require(
      groups.first { $0.members.contains { $0.parameter == "w2" && $0.role == .output } })
    #expect(last.blockedBy?.contains("graph output") == true)
    var g = tinyMLP()
    try pruneStructured(&g, criterion: MagnitudeImportance(), ratio: 0.5)
    #expect(g.initializers["w1"]?.shape == [3, 8])
    #expect(g.initializers["b1"]?.shape == [3])
    #expect(g.initializers["w2"]?.shape == [4, 3])
  }

  @Test func residualAddPartnersArePrunedTogether() throws {
    let dg = DependencyGraph(graph: residualGraph())
    let group = try #require(dg.group(producedBy: "c1.w"))
    let outputs = Set(group.members.filter { $0.role == .output }.map(\.parameter))
    #expect(outputs == ["c1.w", "c2.w"])
    let inputs = Set(group.members.filter { $0.role == .input }.map(\.parameter))
    #expect(inputs == ["c2.w", "fc.w"])
    #expect(dg.prunableGroups.count == 1)
    #expect(group.description.contains("output c2.w[axis 0] at c2"))
    var g = residualGraph()
    try pruneStructured(&g, criterion: MagnitudeImportance(), ratio: 0.5)
    #expect(g.initializers["c1.w"]?.shape == [4, 3, 3, 3])
    #expect(g.initializers["c2.w"]?.shape == [4, 4, 3, 3])
    #expect(g.initializers["c2.b"]?.shape == [4])
    #expect(g.initializers["fc.w"]?.shape == [4, 4])
  }

  @Test func concatOffsetsAndFlattenSpatialBlocks() throws {
    // conv a (2→4) and conv b (2→6) concatenated (10 ch, 3×3) → flatten → gemm(90 → 5)
    var b = GraphBuilder(shape: [.symbolic("N"), .fixed(2), .fixed(3), .fixed(3)])
    let ya = b.conv("a", "x", cin: 2, cout: 4)
    let yb = b.conv("b", "x", cin: 2, cout: 6)
    let cat = b.op("Concat", [ya, yb], ["axis": .int(1)])
    let flat = b.op("Flatten", [b.op("Relu", [cat])], ["axis": .int(1)])
    var graph = b.output(b.gemm("fc", flat, k: 90, n: 5), [.symbolic("N"), .fixed(5)])
    let dg = DependencyGraph(graph: graph)
    let ga = try #require(dg.group(producedBy: "a.w"))
    let gb = try #require(dg.group(producedBy: "b.w"))
    #expect(
      ga.members.contains(
        GroupMember(parameter: "fc.w", axis: 1, offset: 0, width: 9, role: .input, node: "fc")))
    #expect(
      gb.members.contains(
        GroupMember(parameter: "fc.w", axis: 1, offset: 36, width: 9, role: .input, node: "fc")))
    // Keep channels 1, 3 of a and 0, 5 of b: fc columns must be those 9-wide blocks.
    let original = graph.initializers["fc.w"]!
    let plan = StructuredPlan(groups: [ga, gb], kept: [ga.id: [1, 3], gb.id: [0, 5]])
    try applyStructured(plan, to: &graph)
    let fc = try #require(graph.initializers["fc.w"])
    #expect(fc.shape == [5, 36])
    let blocks = [1, 3, 4 + 0, 4 + 5]
    for row in 0..<5 {
      for (i, channel) in blocks.enumerated() {
        for s in 0..<9 {
          #expect(fc.floats[row * 36 + i * 9 + s] == original.floats[row * 90 + channel * 9 + s])
        }
      }
    }
  }

  @Test func groupedConvKeepsGroupsBalanced() throws {
    // conv (4→8) → grouped conv (8→8, 4 groups) → GAP → flatten → gemm
    var b = GraphBuilder(shape: [.symbolic("N"), .fixed(4), .fixed(5), .fixed(5)])
    let y1 = b.conv("p", "x", cin: 4, cout: 8)
    let y2 = b.conv("g", y1, cin: 8, cout: 8, groups: 4)
    let flat = b.op("Flatten", [b.op("GlobalAveragePool", [y2])], ["axis": .int(1)])
    var graph = b.output(b.gemm("fc", flat, k: 8, n: 3), [.symbolic("N"), .fixed(3)])
    let dg = DependencyGraph(graph: graph)
    let gp = try #require(dg.group(producedBy: "p.w"))
    #expect(gp.balancedBlocks == 4)
    #expect(gp.members.contains { $0.parameter == "g.w" && $0.convGroups == 4 })
    // An unbalanced choice is refused, never written.
    var bad = graph
    #expect(throws: PruningError.self) {
      try applyStructured(StructuredPlan(groups: [gp], kept: [gp.id: [0, 1, 2, 3]]), to: &bad)
    }
    let original = graph.initializers["g.w"]!
    try applyStructured(StructuredPlan(groups: [gp], kept: [gp.id: [1, 2, 4, 7]]), to: &graph)
    let w = try #require(graph.initializers["g.w"])
    #expect(w.shape == [8, 1, 3, 3])
    // Output row 6 is in conv group 3 (inputs 6, 7): it keeps input 7 = column 1.
    #expect(Array(w.floats[6 * 9..<7 * 9]) == Array(original.floats[(6 * 2 + 1) * 9..<(6 * 2 + 2) * 9]))
    #expect(graph.initializers["p.w"]?.shape == [4, 4, 3, 3])
    // The grouped conv's own outputs: 8 channels in 4 groups → 4 kept, one per group.
    var pruned = graph
    let plan = try pruneStructured(&pruned, criterion: MagnitudeImportance(), ratio: 0.5)
    #expect(pruned.initializers["g.w"]?.shape == [4, 1, 3, 3])
    let gg = try #require(
      plan.groups.first { $0.members.contains { $0.parameter == "g.w" && $0.role == .output } })
    #expect(Set(plan.kept[gg.id]!.map { $0 / 2 }) == [0, 1, 2, 3])
  }

  @Test func depthwiseConvFollowsItsInputAndUpdatesGroup() throws {
    var b = GraphBuilder(shape: [.symbolic("N"), .fixed(3), .fixed(5), .fixed(5)])
    let y1 = b.conv("p", "x", cin: 3, cout: 6)
    let y2 = b.conv("dw", y1, cin: 6, cout: 6, groups: 6)
    let y3 = b.conv("q", y2, cin: 6, cout: 2, k: 1)
    var graph = b.output(y3, [.symbolic("N"), .fixed(2), .fixed(5), .fixed(5)])
    let group = try #require(DependencyGraph(graph: graph).group(producedBy: "p.w"))
    #expect(group.depthwiseNodes == ["dw"])
    try pruneStructured(&graph, criterion: MagnitudeImportance(), ratio: 0.5)
    #expect(graph.initializers["dw.w"]?.shape == [3, 1, 3, 3])
    #expect(graph.nodes.first { $0.name == "dw" }?.attributes["group"] == .int(3))
    #expect(graph.initializers["q.w"]?.shape == [2, 3, 1, 1])
  }

  @Test func batchNormParametersFollowTheChannels() throws {
    var b = GraphBuilder(shape: [.symbolic("N"), .fixed(3), .fixed(4), .fixed(4)])
    let y = b.conv("c", "x", cin: 3, cout: 4)
    let params = ["s", "bb", "m", "v"].map { b.weight("bn.\($0)", [4]) }
    let bn = b.op("BatchNormalization", [y] + params)
    let z = b.conv("d", b.op("Relu", [bn]), cin: 4, cout: 2)
    var graph = b.output(z, [.symbolic("N"), .fixed(2), .fixed(4), .fixed(4)])
    try pruneStructured(&graph, criterion: MagnitudeImportance(), ratio: 0.25)
    for p in params { #expect(graph.initializers[p]?.shape == [3]) }
    #expect(graph.initializers["d.w"]?.shape == [2, 3, 3, 3])
  }

  @Test func unsupportedNodeBlocksItsGroupByName() throws {
    var b = GraphBuilder(shape: [.symbolic("N"), .fixed(8)])
    let h = b.gemm("fc1", "x", k: 8, n: 6)
    let weird = b.op("TopK", [h, b.weight("k", [1])])
    var graph = b.output(b.gemm("fc2", weird, k: 6, n: 2), [.symbolic("N"), .fixed(2)])
    let dg = DependencyGraph(graph: graph)
    let group = try #require(dg.group(producedBy: "fc1.w"))
    #expect(!group.isPrunable)
    #expect(group.blockedBy?.contains("'topk1'") == true)
    #expect(dg.prunableGroups.isEmpty)
    do {
      try pruneStructured(&graph, criterion: MagnitudeImportance(), ratio: 0.5, groups: [group])
      Issue.record("pruning a blocked group must throw")
    } catch let error as PruningError {
      #expect(error.description.contains("topk1"))
    }
    #expect(graph.initializers["fc1.w"]?.shape == [6, 8])
  }
}
