import ModelGraph
import Runtime
import Testing

@testable import Pruning
@testable import TensorCore

/// Graph shapes that ordinary exporters write (found by scripts/check_zoo.py on torchvision models):
/// decoders (ConvTranspose, Resize, Pad), spatial Reduce, shared initializers behind Identity,
/// flatten written as Reshape [-1, K].
extension GraphBuilder {
  mutating func constant(_ name: String, _ tensor: Tensor) -> String {
    graph.setInitializer(name, tensor)
    return name
  }

  mutating func convTranspose(_ name: String, _ x: String, cin: Int, cout: Int) -> String {
    let w = weight("\(name).w", [cin, cout, 2, 2])
    let b = weight("\(name).b", [cout])
    graph.nodes.append(
      Node(
        name: name, opType: "ConvTranspose", inputs: [x, w, b], outputs: ["\(name).y"],
        attributes: ["kernel_shape": .ints([2, 2]), "strides": .ints([2, 2])]))
    return "\(name).y"
  }
}

/// x [N,3,8,8] → conv → relu → maxpool → conv → relu → ConvTranspose(8→6) ⧺ skip → conv(14→4)
/// → Resize ×2 → Pad (spatial) → conv(4→5) → ReduceMean(H,W, keepdims 0) → Gemm(5→3)
func decoderGraph() -> Graph {
  var b = GraphBuilder(shape: [.symbolic("N"), .fixed(3), .fixed(8), .fixed(8)])
  let r1 = b.op("Relu", [b.conv("c1", "x", cin: 3, cout: 8)])
  let pooled = b.op("MaxPool", [r1], ["kernel_shape": .ints([2, 2]), "strides": .ints([2, 2])])
  let r2 = b.op("Relu", [b.conv("c2", pooled, cin: 8, cout: 8)])
  let up = b.convTranspose("up", r2, cin: 8, cout: 6)
  let joined = b.op("Concat", [up, r1], ["axis": .int(1)])
  let c3 = b.conv("c3", joined, cin: 14, cout: 4)
  let scales = b.constant("scales", Tensor(shape: [4], floats: [1, 1, 2, 2]))
  let resized = b.op("Resize", [c3, "", scales], ["mode": .string("nearest")])
  let pads = b.constant("pads", Tensor(shape: [8], int64s: [0, 0, 1, 1, 0, 0, 1, 1]))
  let padded = b.op("Pad", [resized, pads])
  let c4 = b.conv("c4", padded, cin: 4, cout: 5)
  let mean = b.op("ReduceMean", [c4], ["axes": .ints([2, 3]), "keepdims": .int(0)])
  return b.output(b.gemm("fc", mean, k: 5, n: 3), [.symbolic("N"), .fixed(3)])
}

/// Removing channels that carry exact zeros leaves the outputs unchanged (batch 3).
func expectDeadChannelRemovalKeepsOutputs(_ original: Graph, shape: [Int]) throws {
  var graph = original
  prepareForStructuredPruning(&graph)
  let groups = DependencyGraph(graph: graph).prunableGroups
  #expect(!groups.isEmpty)
  let plan = try StructuredPruner(criterion: RandomImportance(seed: 3), ratio: 0.5).plan(
    for: graph, groups: groups)
  deadenRemovedUnits(plan, in: &graph)
  let x = Tensor.normal(shape, seed: 9)
  let (input, output) = (graph.inputs[0].name, graph.outputs[0].name)
  let before = try #require(try Executor(graph: graph).run([input: x])[output])
  try applyStructured(plan, to: &graph)
  let after = try #require(try Executor(graph: graph).run([input: x])[output])
  #expect(after.shape == before.shape)
  #expect(maxDifference(before, after) < deadChannelTolerance)
}

@Suite struct ExportedGraphCouplingTests {
  @Test func decoderOpsPassChannelsThrough() throws {
    let dg = DependencyGraph(graph: decoderGraph())
    // c1 (through concat), c2 (into ConvTranspose), up (ConvTranspose out, axis 1), c3 (Resize, Pad),
    // c4 (spatial ReduceMean into the Gemm); fc reaches the output.
    #expect(dg.prunableGroups.count == 5)
    let up = try #require(dg.group(producedBy: "up.w"))
    #expect(up.members.contains { $0.parameter == "up.w" && $0.axis == 1 && $0.role == .output })
    #expect(up.members.contains { $0.parameter == "c3.w" && $0.axis == 1 && $0.offset == 0 })
    let c2 = try #require(dg.group(producedBy: "c2.w"))
    #expect(c2.members.contains { $0.parameter == "up.w" && $0.axis == 0 && $0.role == .input })
    let c4 = try #require(dg.group(producedBy: "c4.w"))
    #expect(c4.members.contains { $0.parameter == "fc.w" && $0.axis == 1 && $0.role == .input })
    try expectDeadChannelRemovalKeepsOutputs(decoderGraph(), shape: [3, 3, 8, 8])
  }

  @Test func resizeOfTheChannelAxisAndChannelReduceBlock() throws {
    var graph = decoderGraph()
    graph.initializers["scales"] = Tensor(shape: [4], floats: [1, 2, 2, 2])
    let dg = DependencyGraph(graph: graph)
    #expect(dg.group(producedBy: "c3.w")?.blockedBy?.contains("channel axis") == true)
    var reduced = decoderGraph()
    let index = try #require(reduced.nodes.firstIndex { $0.opType == "ReduceMean" })
    reduced.nodes[index].attributes["axes"] = .ints([1])
    let blocked = DependencyGraph(graph: reduced).group(producedBy: "c4.w")
    #expect(blocked?.blockedBy?.contains("reduces over the channel axis") == true)
    #expect(DependencyGraph(graph: reduced).blockedReasons.contains { $0.contains("ReduceMean") })
  }

  /// TorchScript export: equal initializers are stored once; the other layers read an Identity of it.
  @Test func sharedBiasBehindIdentityIsUntied() throws {
    var b = GraphBuilder(shape: [.symbolic("N"), .fixed(3), .fixed(6), .fixed(6)])
    let r1 = b.op("Relu", [b.conv("c1", "x", cin: 3, cout: 4)])
    let r2 = b.op("Relu", [b.conv("c2", r1, cin: 4, cout: 4)])
    let c3 = b.conv("c3", r2, cin: 4, cout: 2)
    var graph = b.output(c3, [.symbolic("N"), .fixed(2), .fixed(6), .fixed(6)])
    graph.nodes.insert(
      Node(name: "tie", opType: "Identity", inputs: ["c1.b"], outputs: ["c2.tied"]), at: 0)
    let c2 = try #require(graph.nodes.firstIndex { $0.name == "c2" })
    graph.nodes[c2].inputs[2] = "c2.tied"
    graph.removeInitializer("c2.b")
    let x = Tensor.normal([2, 3, 6, 6], seed: 5)
    let before = try #require(try Executor(graph: graph).run(["x": x])[c3])
    // Unprepared, the Identity-fed bias is not a constant: its group is blocked, never cut wrongly.
    let raw = DependencyGraph(graph: graph)
    #expect(raw.group(producedBy: "c2.w")?.blockedBy?.contains("not a constant") == true)
    var untied = graph
    untieSharedConstants(in: &untied)
    #expect(!untied.nodes.contains { $0.opType == "Identity" })
    #expect(untied.initializers["c2.tied"] != nil)
    let same = try #require(try Executor(graph: untied).run(["x": x])[c3])
    #expect(maxDifference(before, same) == 0)
    try expectDeadChannelRemovalKeepsOutputs(graph, shape: [3, 3, 6, 6])
    var pruned = graph
    try pruneStructured(&pruned, criterion: MagnitudeImportance(), ratio: 0.5)
    #expect(pruned.initializers["c1.b"]?.shape == [2])
    #expect(pruned.initializers["c2.tied"]?.shape == [2])
  }

  /// One initializer read by two layers: each gets its own copy before the cut.
  @Test func initializerReadByTwoLayersIsCopied() throws {
    var b = GraphBuilder(shape: [.symbolic("N"), .fixed(4), .fixed(5), .fixed(5)])
    let r1 = b.op("Relu", [b.conv("c1", "x", cin: 4, cout: 4)])
    let r2 = b.op("Relu", [b.conv("c2", r1, cin: 4, cout: 4)])
    var graph = b.output(
      b.conv("c3", r2, cin: 4, cout: 2), [.symbolic("N"), .fixed(2), .fixed(5), .fixed(5)])
    let c2 = try #require(graph.nodes.firstIndex { $0.name == "c2" })
    graph.nodes[c2].inputs[2] = "c1.b"
    graph.removeInitializer("c2.b")
    try expectDeadChannelRemovalKeepsOutputs(graph, shape: [2, 4, 5, 5])
    // Copies that no cut changed are shared again afterwards (no growth from untying).
    var untied = graph
    let copies = untieSharedConstants(in: &untied)
    #expect(copies.count == 1)
    #expect(untied.initializers.count == graph.initializers.count + 1)
    retieUnchangedConstants(copies, in: &untied)
    #expect(untied.initializers.count == graph.initializers.count)
    #expect(untied.nodes.first { $0.name == "c2" }?.inputs[2] == "c1.b")
  }

  /// Dynamo export of torch.flatten(x, 1): Reshape(x, [-1, K]) with K stated.
  @Test func flattenReshapeStatingTheSizeIsRelaxed() throws {
    var b = GraphBuilder(shape: [.symbolic("N"), .fixed(3), .fixed(6), .fixed(6)])
    let pooled = b.op("GlobalAveragePool", [b.op("Relu", [b.conv("c1", "x", cin: 3, cout: 8)])])
    let target = b.constant("target", Tensor(shape: [2], int64s: [-1, 8]))
    let flat = b.op("Reshape", [pooled, target])
    let graph = b.output(b.gemm("fc", flat, k: 8, n: 4), [.symbolic("N"), .fixed(4)])
    let raw = DependencyGraph(graph: graph)
    #expect(raw.group(producedBy: "c1.w")?.blockedBy?.contains("states the flattened size") == true)
    var relaxed = graph
    relaxFlattenReshapes(in: &relaxed)
    let reshape = try #require(relaxed.nodes.first { $0.opType == "Reshape" })
    #expect(relaxed.initializers[reshape.inputs[1]]?.int64s == [0, -1])
    #expect(DependencyGraph(graph: relaxed).group(producedBy: "c1.w")?.isPrunable == true)
    try expectDeadChannelRemovalKeepsOutputs(graph, shape: [3, 3, 6, 6])
    // A Reshape that is not a flatten of its input ([-1, 4] of 8 channels) stays blocked.
    var other = graph
    other.initializers["target"] = Tensor(shape: [2], int64s: [-1, 4])
    relaxFlattenReshapes(in: &other)
    #expect(other.initializers["target"]?.int64s == [-1, 4])
    #expect(DependencyGraph(graph: other).group(producedBy: "c1.w")?.isPrunable == false)
  }

  /// x [N, 5] → Gemm(5→8) → LayerNorm over the 8 (the ONNX op, or decomposed as opsets < 17 export it)
  /// → Relu → Gemm(8→3).
  func layerNormMLP(decomposed: Bool) -> Graph {
    var b = GraphBuilder(shape: [.symbolic("N"), .fixed(5)])
    let h = b.gemm("fc1", "x", k: 5, n: 8)
    let gamma = b.constant("gamma", Tensor.normal([8], mean: 1, std: 0.2, seed: 7))
    let beta = b.constant("beta", Tensor.normal([8], std: 0.2, seed: 8))
    var normed: String
    if decomposed {
      let mean = b.op("ReduceMean", [h], ["axes": .ints([-1])])
      let centred = b.op("Sub", [h, mean])
      let two = b.constant("two", Tensor(shape: [], floats: [2]))
      let variance = b.op("ReduceMean", [b.op("Pow", [centred, two])], ["axes": .ints([-1])])
      let eps = b.constant("eps", Tensor(shape: [], floats: [1e-5]))
      let std = b.op("Sqrt", [b.op("Add", [variance, eps])])
      normed = b.op("Add", [b.op("Mul", [b.op("Div", [centred, std]), gamma]), beta])
    } else {
      normed = b.op("LayerNormalization", [h, gamma, beta], ["axis": .int(-1), "epsilon": .float(1e-5)])
    }
    return b.output(b.gemm("fc2", b.op("Relu", [normed]), k: 8, n: 3), [.symbolic("N"), .fixed(3)])
  }

  /// TorchScript exports of opset < 17 write LayerNorm as ReduceMean/Sub/Pow/…: its channels are cut
  /// as the LayerNormalization op's are, with the same result.
  @Test func decomposedLayerNormIsCutLikeTheOp() throws {
    let dg = DependencyGraph(graph: layerNormMLP(decomposed: true))
    let group = try #require(dg.group(producedBy: "fc1.w"))
    #expect(group.isPrunable)
    #expect(Set(group.members.filter { $0.role == .vector }.map(\.parameter)) == ["fc1.b", "gamma", "beta"])
    var decomposed = layerNormMLP(decomposed: true)
    var op = layerNormMLP(decomposed: false)
    try pruneStructured(&decomposed, criterion: MagnitudeImportance(), ratio: 0.5)
    try pruneStructured(&op, criterion: MagnitudeImportance(), ratio: 0.5)
    #expect(decomposed.initializers["gamma"]?.shape == [4])
    #expect(decomposed.initializers["fc2.w"]?.shape == [3, 4])
    let x = Tensor.normal([3, 5], seed: 2)
    let a = try #require(try Executor(graph: decomposed).run(["x": x])[decomposed.outputs[0].name])
    let c = try #require(try Executor(graph: op).run(["x": x])[op.outputs[0].name])
    #expect(maxDifference(a, c) < deadChannelTolerance)
    // A sum over the channels is not a mean: still blocked.
    var summed = layerNormMLP(decomposed: true)
    let first = try #require(summed.nodes.firstIndex { $0.opType == "ReduceMean" })
    summed.nodes[first].opType = "ReduceSum"
    #expect(DependencyGraph(graph: summed).group(producedBy: "fc1.w")?.isPrunable == false)
  }
}
