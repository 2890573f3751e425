import Foundation
import ModelGraph
import TensorCore
import Testing

@testable import Compression
@testable import Runtime

/// |fused − unfused| ≤ int8GraphTolerance · (1 + |unfused|): the same int32 sums, scales multiplied in
/// another order (s·sw once instead of ·s then ·sw).
let int8GraphTolerance: Float = 1e-5

/// A small transformer-like block: MatMul + bias → Gelu-free GELU chain replaced by Relu, a Gemm with
/// transB = 1, and a residual Add: X [rows, 24] → [rows, 10].
func int8TestGraph(opset: Int = 17) -> Graph {
  var g = Graph(name: "int8-test", opsetVersion: opset)
  g.inputs = [ValueInfo(name: "x", dtype: .float32, shape: [.symbolic("rows"), .fixed(24)])]
  g.outputs = [ValueInfo(name: "y", dtype: .float32, shape: nil)]
  g.setInitializer("w1", Tensor.normal([24, 33], std: 0.2, seed: 1))
  g.setInitializer("b1", Tensor.normal([33], std: 0.1, seed: 2))
  g.setInitializer("w2", Tensor.normal([24, 33], std: 0.2, seed: 3))  // Gemm transB: stored [n, k]
  g.setInitializer("b2", Tensor.normal([24], std: 0.1, seed: 4))
  g.setInitializer("w3", Tensor.normal([24, 10], std: 0.2, seed: 5))
  var zeroColumn = Tensor.normal([24, 10], std: 0.2, seed: 6).floats
  for p in 0..<24 { zeroColumn[p * 10 + 3] = 0 }  // an all-zero output channel
  g.setInitializer("w3", Tensor(shape: [24, 10], floats: zeroColumn))
  g.nodes = [
    Node(name: "fc1", opType: "MatMul", inputs: ["x", "w1"], outputs: ["h0"]),
    Node(name: "fc1_bias", opType: "Add", inputs: ["h0", "b1"], outputs: ["h1"]),
    Node(name: "relu", opType: "Relu", inputs: ["h1"], outputs: ["h2"]),
    Node(
      name: "fc2", opType: "Gemm", inputs: ["h2", "w2", "b2"], outputs: ["h3"],
      attributes: ["transB": .int(1)]),
    Node(name: "residual", opType: "Add", inputs: ["h3", "x"], outputs: ["h4"]),
    Node(name: "fc3", opType: "MatMul", inputs: ["h4", "w3"], outputs: ["y"]),
  ]
  return g
}

func run(_ graph: Graph, _ x: Tensor, optimize: Bool) throws -> [Float] {
  try Executor(graph: graph, optimize: optimize).run(["x": x])["y"]!.floats
}

@Suite struct Int8ExecutionTests {
  @Test(arguments: [1, 3, 17, 64], [13, 18])
  func fusedInt8KernelsEqualTheONNXOps(rows: Int, opset: Int) throws {
    let (q, reports) = try quantizeForInt8Execution(int8TestGraph(opset: opset))
    #expect(reports.map(\.activations) == ["dynamic", "dynamic", "dynamic"])
    let fused = Fusion.fuse(q.computingInFloat32())
    #expect(fused.nodes.filter { Int8Linear.isInt8MatMul($0) }.count == 3)
    #expect(!fused.nodes.contains { $0.opType == "MatMulInteger" })
    let x = Tensor.normal([rows, 24], seed: UInt64(rows))
    let unfused = try run(q, x, optimize: false)
    let got = try run(q, x, optimize: true)
    for i in got.indices {
      #expect(abs(got[i] - unfused[i]) <= int8GraphTolerance * (1 + abs(unfused[i])), "element \(i)")
    }
  }

  /// The quantized model stays near the Float32 one (per-row and per-channel scales).
  @Test func int8OutputsApproximateFloat32() throws {
    let g = int8TestGraph()
    let (q, _) = try quantizeForInt8Execution(g)
    let x = Tensor.normal([40, 24], seed: 9)
    let float = try run(g, x, optimize: true)
    let int8 = try run(q, x, optimize: true)
    let scale = float.map(abs).max()!
    let worst = zip(float, int8).map { abs($0 - $1) }.max()!
    #expect(worst <= 0.02 * scale, "max |int8 − fp32| = \(worst), max |fp32| = \(scale)")
    #expect(worst > 0, "int8 must differ from Float32 somewhere (else nothing was quantized)")
  }

  @Test func keepFloatAndPerTensorOptions() throws {
    let (q, reports) = try quantizeForInt8Execution(
      int8TestGraph(), options: Int8QuantizationOptions(perChannel: false, keepFloat: ["fc2"]))
    #expect(reports.first { $0.node == "fc2" }?.activations == "float")
    #expect(q.nodes.contains { $0.name == "fc2" && $0.opType == "Gemm" })
    #expect(q.initializers["w1_scale"]?.count == 1)
    let x = Tensor.normal([5, 24], seed: 3)
    let a = try run(q, x, optimize: false)
    let b = try run(q, x, optimize: true)
    for i in a.indices { #expect(abs(a[i] - b[i]) <= int8GraphTolerance * (1 + abs(a[i]))) }
  }

  /// The graph survives ONNX export and import (int8 initializers, ReduceMax axes as attribute/input).
  @Test(arguments: [13, 18])
  func quantizedModelRoundTripsThroughONNX(opset: Int) throws {
    let (q, _) = try quantizeForInt8Execution(int8TestGraph(opset: opset))
    let path = NSTemporaryDirectory() + "int8-roundtrip-\(opset)-\(UUID().uuidString).onnx"
    defer { try? FileManager.default.removeItem(atPath: path) }
    try ModelFile.save(q, to: path)
    let back = try ModelFile.load(path)
    #expect(back.initializers["w1_int8"]?.dtype == .int8)
    let x = Tensor.normal([7, 24], seed: 4)
    #expect(try run(back, x, optimize: true) == run(q, x, optimize: true))
  }

  /// onnxruntime `quantize_dynamic`'s form: DynamicQuantizeLinear → MatMulInteger → Cast → Mul(Mul(xs, sw)).
  static func onnxruntimeStyleGraph(weightScale: Float = 0.01) -> Graph {
    var g = Graph(name: "ort-dynamic", opsetVersion: 17)
    g.inputs = [ValueInfo(name: "x", dtype: .float32, shape: [.symbolic("rows"), .fixed(20)])]
    g.outputs = [ValueInfo(name: "y", dtype: .float32, shape: nil)]
    var rng = SeededGenerator(seed: 12)
    let w = (0..<(20 * 12)).map { _ in UInt8(bitPattern: Int8(Int(rng.next() % 255) - 127)) }
    g.setInitializer("wq", try! Tensor(shape: [20, 12], dtype: .int8, bytes: w))
    g.setInitializer("wz", try! Tensor(shape: [], dtype: .int8, bytes: [0]))
    g.setInitializer("ws", Tensor(shape: [], floats: [weightScale]))
    g.setInitializer("b", Tensor.normal([12], seed: 13))
    g.nodes = [
      Node(name: "dq", opType: "DynamicQuantizeLinear", inputs: ["x"], outputs: ["xq", "xs", "xz"]),
      Node(name: "scales", opType: "Mul", inputs: ["xs", "ws"], outputs: ["s"]),
      Node(name: "mmi", opType: "MatMulInteger", inputs: ["xq", "wq", "xz", "wz"], outputs: ["acc"]),
      Node(name: "cast", opType: "Cast", inputs: ["acc"], outputs: ["accf"], attributes: ["to": .int(1)]),
      Node(name: "mul", opType: "Mul", inputs: ["accf", "s"], outputs: ["y0"]),
      Node(name: "bias", opType: "Add", inputs: ["b", "y0"], outputs: ["y"]),
    ]
    return g
  }

  @Test(arguments: [1, 6, 33])
  func onnxruntimeDynamicQuantizationRunsOnTheInt8Kernel(rows: Int) throws {
    let g = Self.onnxruntimeStyleGraph()
    let fused = Fusion.fuse(g)
    #expect(fused.nodes.map(\.opType) == ["DynamicQuantizeLinear", "Int8MatMul"])
    let x = Tensor.normal([rows, 20], seed: 7)
    let unfused = try run(g, x, optimize: false)
    let got = try run(g, x, optimize: true)
    for i in got.indices { #expect(abs(got[i] - unfused[i]) <= int8GraphTolerance * (1 + abs(unfused[i]))) }
  }

  /// The fused kernel checks the weight scale when it packs the weight (executor construction); the
  /// reference QuantizeLinear / DequantizeLinear check their scale input when they run.
  @Test(arguments: [Float(0), .nan, .infinity])
  func badScalesAreRefusedNamingTheTensor(scale: Float) throws {
    func expectRefusal(naming name: String, _ body: () throws -> Void) {
      let error = #expect(throws: ModelGraphError.self) { try body() }
      if let error { #expect("\(error)".contains("'\(name)'"), "\(error)") }
    }
    let g = Self.onnxruntimeStyleGraph(weightScale: scale)
    expectRefusal(naming: "ws") { _ = try Executor(graph: g) }
    var q = try quantizeForInt8Execution(int8TestGraph()).0
    q.setInitializer("w3_scale", Tensor(shape: [10], floats: [Float](repeating: 1, count: 9) + [scale]))
    expectRefusal(naming: "w3_scale") { _ = try Executor(graph: q) }
    var d = Graph(name: "dequantize", opsetVersion: 17)
    d.inputs = [ValueInfo(name: "q", dtype: .int8, shape: [.fixed(3)])]
    d.outputs = [ValueInfo(name: "y", dtype: .float32, shape: nil)]
    d.setInitializer("dq_scale", Tensor(shape: [], floats: [scale]))
    d.nodes = [Node(name: "dq", opType: "DequantizeLinear", inputs: ["q", "dq_scale"], outputs: ["y"])]
    let input = try Tensor(shape: [3], dtype: .int8, bytes: [1, 2, 255])
    expectRefusal(naming: "dq_scale") { _ = try Executor(graph: d, foldConstants: false).run(["q": input]) }
  }

  @Test func aQuantizedOpPruneKitCannotRunNamesTheNode() throws {
    var g = Self.onnxruntimeStyleGraph()
    g.nodes.insert(
      Node(
        name: "qconv_7", opType: "QLinearMatMul", inputs: ["xq", "xs", "xz", "wq", "ws", "wz", "xs", "xz"],
        outputs: ["z"]),
      at: 1)
    let error = #expect(throws: ModelGraphError.self) { try Executor(graph: g) }
    #expect("\(error!)".contains("qconv_7") && "\(error!)".contains("QLinearMatMul"), "\(error!)")
  }

  /// onnxruntime 1.32's DynamicQuantizeLinear on the same values (ties at .5 round half to even), from
  /// `onnx.helper` one-node graphs run with onnxruntime.InferenceSession.
  @Test(arguments: [
    (
      [-1, 0, 0.5, 2, 0.0058823529, 0.017647058, -0.99, 1.5, -0.2] as [Float],
      [0, 85, 127, 255, 85, 86, 1, 213, 68] as [UInt8], Float(0.01176471), UInt8(85)
    ),
    (
      [0.3, 1.7, 2.2, 0, 0.1, 5, 0.7, 0.9, 4], [15, 87, 112, 0, 5, 255, 36, 46, 204], Float(0.01960784),
      UInt8(0)
    ),
  ])
  func dynamicQuantizeLinearMatchesOnnxruntime(x: [Float], q: [UInt8], scale: Float, zero: UInt8) throws {
    let ctx = OpContext(
      node: Node(name: "dq", opType: "DynamicQuantizeLinear", inputs: ["x"], outputs: ["y", "s", "z"]),
      opset: 17,
      inputs: [Tensor(shape: [x.count], floats: x)])
    let out = try QuantizeOps.dynamicQuantizeLinear(ctx)
    #expect(out[0].rawBytes == q)
    #expect(abs(out[1].floats[0] - scale) <= 1e-7)
    #expect(out[2].rawBytes == [zero])
  }

  @Test(arguments: [Float.nan, .infinity, -.infinity])
  func dynamicQuantizeLinearRefusesNonFiniteInputsNamingThem(bad: Float) throws {
    var x = (0..<37).map { Float($0) * 0.1 }
    x[bad.isNaN ? 3 : 33] = bad  // inside the SIMD part, and in the tail
    let ctx = OpContext(
      node: Node(name: "dq", opType: "DynamicQuantizeLinear", inputs: ["hidden"], outputs: ["y", "s", "z"]),
      opset: 17, inputs: [Tensor(shape: [x.count], floats: x)])
    let error = #expect(throws: ModelGraphError.self) { try QuantizeOps.dynamicQuantizeLinear(ctx) }
    if let error { #expect("\(error)".contains("'hidden'"), "\(error)") }
  }

  @Test func quantizeRefusesBadStaticScales() throws {
    #expect(throws: CompressionError.self) {
      try quantizeForInt8Execution(
        int8TestGraph(), options: Int8QuantizationOptions(activationScales: ["fc1": .nan]))
    }
  }
}

/// Q, K and V of one activation (a 70 %-sparse K among them), summed: X [rows, 64] → [rows, 80].
func int8SharedInputGraph() -> Graph {
  var g = Graph(name: "qkv", opsetVersion: 17)
  g.inputs = [ValueInfo(name: "x", dtype: .float32, shape: [.symbolic("rows"), .fixed(64)])]
  g.outputs = [ValueInfo(name: "y", dtype: .float32, shape: nil)]
  var sparse = Tensor.normal([64, 80], std: 0.2, seed: 12).floats
  for i in sparse.indices where i % 10 < 7 { sparse[i] = 0 }
  g.setInitializer("wq", Tensor.normal([64, 80], std: 0.2, seed: 11))
  g.setInitializer("wk", Tensor(shape: [64, 80], floats: sparse))
  g.setInitializer("wv", Tensor.normal([64, 80], std: 0.2, seed: 13))
  g.nodes = [
    Node(name: "q", opType: "MatMul", inputs: ["x", "wq"], outputs: ["q"]),
    Node(name: "k", opType: "MatMul", inputs: ["x", "wk"], outputs: ["k"]),
    Node(name: "v", opType: "MatMul", inputs: ["x", "wv"], outputs: ["v"]),
    Node(name: "qk", opType: "Add", inputs: ["q", "k"], outputs: ["qk"]),
    Node(name: "qkv", opType: "Add", inputs: ["qk", "v"], outputs: ["y"]),
  ]
  return g
}

@Suite struct Int8SharedQuantizationTests {
  /// One QuantizeRows for the three layers, the same outputs as the ONNX ops, on the dense int8
  /// kernel and with every layer forced onto the sparse int8 kernel.
  @Test(arguments: [1, 5, 70])
  func qkvShareOneRowQuantization(rows: Int) throws {
    let (q, _) = try quantizeForInt8Execution(int8SharedInputGraph())
    let fused = Fusion.fuse(q.computingInFloat32())
    #expect(fused.nodes.filter { $0.opType == Int8Linear.quantizeRowsOpType }.count == 1)
    let int8 = fused.nodes.filter { Int8Linear.isInt8MatMul($0) }
    #expect(int8.count == 3)
    #expect(int8.allSatisfy { $0.attributes["quantization"] == .string("quantized_rows") })
    let x = Tensor.normal([rows, 64], seed: UInt64(rows))
    let unfused = try run(q, x, optimize: false)
    var options = SparseKernelSelector.Options()
    options.forced = .sparseInt8
    options.cache = nil
    for selector in [nil, SparseKernelSelector(graph: q, inputShapes: ["x": [rows, 64]], options: options)] {
      let executor = try selector.map { try Executor(graph: q, selector: $0) } ?? Executor(graph: q)
      let got = try executor.run(["x": x])["y"]!.floats
      for i in got.indices {
        #expect(abs(got[i] - unfused[i]) <= int8GraphTolerance * (1 + abs(unfused[i])), "element \(i)")
      }
      if let selector { #expect(selector.choices.map(\.kernel) == [.sparseInt8, .sparseInt8, .sparseInt8]) }
    }
  }

  /// Measured at load: a layer with ≥ minimumSparsity zeros gets int8 or sparse-int8 with both timed.
  @Test func selectorMeasuresDenseAndSparseInt8() throws {
    let (q, _) = try quantizeForInt8Execution(int8SharedInputGraph())
    var options = SparseKernelSelector.Options()
    options.cache = nil
    options.forced = nil
    let selector = SparseKernelSelector(graph: q, inputShapes: ["x": [16, 64]], options: options)
    _ = try Executor(graph: q, selector: selector)
    let k = try #require(selector.choices.first { $0.node.hasPrefix("k") })
    #expect(k.sparsity >= 0.69)
    #expect(Set(k.seconds.keys) == (SparseInt8Matrix.hasFastKernel ? ["int8", "sparse-int8"] : []))
    #expect(selector.choices.filter { !$0.node.hasPrefix("k") }.allSatisfy { $0.kernel == .int8 })
  }
}
