import ModelGraph
import Runtime
import TensorCore
import Testing

@testable import Training

/// Resize's backward against finite differences; images resized/replicated/normalised for a model's
/// input (`ModelImages`); a classifier head replaced for a new class count (`ClassifierHead`).
@Suite struct ResizeGradientTests {
  static let noRoi = Tensor(shape: [0], floats: [])
  static func ints(_ values: [Int]) -> Tensor { Tensor(shape: [values.count], int64s: values.map(Int64.init)) }

  @Test(arguments: ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"])
  func linearUpsampleByScales(transform: String) throws {
    let graph = singleOpGraph(
      "Resize", inputs: ["x", "roi", "scales"],
      constants: ["roi": Self.noRoi, "scales": Tensor(shape: [4], floats: [1, 1, 2, 1.5])],
      attributes: ["mode": .string("linear"), "coordinate_transformation_mode": .string(transform)])
    try GradientCheck(graph: graph, inputs: ["x": randn([2, 2, 3, 4], seed: 1)]).run()
  }

  @Test func linearDownsampleBySizesOnTwoAxes() throws {
    // 7×5 → 3×4: several inputs feed one output, clamped edges, axes given explicitly.
    let graph = singleOpGraph(
      "Resize", inputs: ["x", "roi", "", "sizes"],
      constants: ["roi": Self.noRoi, "sizes": Self.ints([3, 4])],
      attributes: ["mode": .string("linear"), "axes": .ints([2, 3])])
    try GradientCheck(graph: graph, inputs: ["x": randn([1, 2, 7, 5], seed: 2)]).run()
  }

  @Test(arguments: ["round_prefer_floor", "floor", "ceil"])
  func nearestRoutesEachOutputToTheInputItCopied(nearestMode: String) throws {
    let graph = singleOpGraph(
      "Resize", inputs: ["x", "roi", "scales"],
      constants: ["roi": Self.noRoi, "scales": Tensor(shape: [4], floats: [1, 1, 2.5, 0.6])],
      attributes: [
        "mode": .string("nearest"), "nearest_mode": .string(nearestMode),
        "coordinate_transformation_mode": .string("asymmetric"),
      ])
    try GradientCheck(graph: graph, inputs: ["x": randn([1, 3, 2, 5], seed: 3)]).run()
  }

  @Test func opset10UpsampleAndResizeInsideAConvNet() throws {
    var upsample = singleOpGraph(
      "Upsample", inputs: ["x", "scales"], constants: ["scales": Tensor(shape: [4], floats: [1, 1, 2, 2])],
      attributes: ["mode": .string("nearest")])
    upsample.opsetVersion = 9
    try GradientCheck(graph: upsample, inputs: ["x": randn([1, 2, 2, 3], seed: 4)]).run()
    // Conv → bilinear Resize → Conv: the weights of both convolutions get their gradient through it.
    let graph = Graph(
      name: "conv-resize-conv",
      nodes: [
        Node(name: "c1", opType: "Conv", inputs: ["x", "w1"], outputs: ["a"], attributes: ["pads": .ints([1, 1, 1, 1])]),
        Node(
          name: "up", opType: "Resize", inputs: ["a", "roi", "scales"], outputs: ["u"],
          attributes: ["mode": .string("linear")]),
        Node(name: "c2", opType: "Conv", inputs: ["u", "w2"], outputs: ["y0"]),
      ],
      initializers: [
        "w1": randn([3, 2, 3, 3], seed: 5), "w2": randn([2, 3, 2, 2], seed: 6), "roi": Self.noRoi,
        "scales": Tensor(shape: [4], floats: [1, 1, 2, 2]),
      ],
      inputs: [], outputs: [ValueInfo(name: "y0", dtype: .float32, shape: nil)])
    try GradientCheck(graph: graph, inputs: ["x": randn([1, 2, 3, 3], seed: 7)]).run()
  }
}

@Suite struct ModelImagesTests {
  /// Two 2×2 grey images [[1, 2], [3, 4]] and [[0, 0], [0, 8]], labels 3 and 7.
  static let source = ImageDataset(
    images: [1, 2, 3, 4, 0, 0, 0, 8], labels: [3, 7], channels: 1, height: 2, width: 2, classCount: 10)

  @Test func bilinearMatchesPyTorchInterpolateHalfPixel() throws {
    // torch.nn.functional.interpolate(x, size=(4, 4), mode="bilinear", align_corners=False)
    let expected: [Float] = [1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4]
    let up = Tensor(shape: [1, 1, 2, 2], floats: [1, 2, 3, 4]).resizedBilinear(height: 4, width: 4)
    #expect(up.shape == [1, 1, 4, 4])
    #expect(up.floats == expected)
    // size=(3, 1): 1.5, 2.5, 3.5 (the first and last rows clamp to the edge).
    #expect(Tensor(shape: [1, 1, 2, 2], floats: [1, 2, 3, 4]).resizedBilinear(height: 3, width: 1).floats == [1.5, 2.5, 3.5])
  }

  @Test func resizesReplicatesGreyAndNormalisesPerChannel() throws {
    let images = try ModelImages(Self.source, channels: 3, height: 4, width: 4, mean: [1, 2, 3], std: [1, 2, 4])
    #expect(images.adapts)
    let batch = images.batch([1, 0])
    #expect(batch.inputs.shape == [2, 3, 4, 4])
    #expect(batch.labels == [7, 3])
    let x = batch.inputs.floats
    let first = Tensor(shape: [1, 1, 2, 2], floats: [1, 2, 3, 4]).resizedBilinear(height: 4, width: 4).floats
    for c in 0..<3 {
      let (m, s): (Float, Float) = ([1, 2, 3][c], [1, 2, 4][c])
      let plane = Array(x[(3 + c) * 16..<(4 + c) * 16])  // image 0 is the second of the batch
      #expect(plane == first.map { ($0 - m) / s }, "channel \(c)")
    }
    // The same geometry and no normalisation is the source itself.
    let same = ModelImages(Self.source)
    #expect(!same.adapts)
    #expect(same.batch([0, 1]).inputs == Self.source.batch([0, 1]).inputs)
  }

  @Test func whatCannotBeMappedIsRefusedNamingIt() throws {
    let rgb = ImageDataset(images: [Float](repeating: 0, count: 12), labels: [0], channels: 3, height: 2, width: 2, classCount: 2)
    #expect { try ModelImages(rgb, channels: 1, height: 2, width: 2) } throws: { "\($0)".contains("3-channel images") }
    #expect { try ModelImages(Self.source, channels: 3, height: 4, width: 4, mean: [0, 0]) } throws: {
      "\($0)".contains("mean") && "\($0)".contains("1 or 3 values")
    }
    #expect { try ModelImages(Self.source, channels: 1, height: 4, width: 4, std: [0]) } throws: { "\($0)".contains("std") }
    #expect { try ModelImages(Self.source, channels: 1, height: 0, width: 4) } throws: { "\($0)".contains("image size") }
    #expect { try ModelImages(Self.source, channels: 1, height: 4, width: 4, mean: [.nan]) } throws: {
      "\($0)".contains("non-finite")
    }
  }
}

@Suite struct ClassifierHeadTests {
  static func logits(_ graph: Graph, _ x: Tensor) throws -> Tensor {
    try #require(try Executor(graph: graph).run([graph.inputs[0].name: x])[graph.outputs[0].name])
  }

  /// x [N, 4] → Gemm (transB) → Relu → Gemm head [classes] → Identity.
  static func mlp(transB: Bool) -> Graph {
    let w2 = transB ? randn([6, 5], seed: 3) : randn([5, 6], seed: 3)
    return Graph(
      name: "mlp",
      nodes: [
        Node(name: "fc1", opType: "Gemm", inputs: ["x", "w1", "b1"], outputs: ["h"], attributes: ["transB": .int(1)]),
        Node(name: "relu", opType: "Relu", inputs: ["h"], outputs: ["r"]),
        Node(name: "head", opType: "Gemm", inputs: ["r", "w2", "b2"], outputs: ["z"], attributes: ["transB": .int(transB ? 1 : 0)]),
        Node(name: "out", opType: "Identity", inputs: ["z"], outputs: ["logits"]),
      ],
      initializers: ["w1": randn([5, 4], seed: 1), "b1": randn([5], seed: 2), "w2": w2, "b2": randn([6], seed: 4)],
      inputs: [ValueInfo(name: "x", dtype: .float32, shape: [.symbolic("batch"), .fixed(4)])],
      outputs: [ValueInfo(name: "logits", dtype: .float32, shape: [.symbolic("batch"), .fixed(6)])])
  }

  @Test(arguments: [true, false])
  func gemmHeadGetsFreshSeededWeightsOfTheNewWidth(transB: Bool) throws {
    var graph = Self.mlp(transB: transB)
    graph.masks["w2"] = Tensor(shape: graph.initializers["w2"]!.shape, floats: [Float](repeating: 1, count: 30))
    let kept = graph.initializers["w1"]
    let r = try ClassifierHead.replace(in: &graph, classes: 3, seed: 9)
    #expect(r == .init(node: "head", opType: "Gemm", tensors: ["w2", "b2"], oldClasses: 6, newClasses: 3))
    #expect(graph.initializers["w2"]!.shape == (transB ? [3, 5] : [5, 3]))
    #expect(graph.initializers["b2"]!.shape == [3])
    #expect(graph.initializers["w1"] == kept)
    #expect(graph.masks["w2"] == nil)
    #expect(graph.outputs[0].shape == [.symbolic("batch"), .fixed(3)])
    // PyTorch nn.Linear's bound 1/√fan_in, not all equal, and reproducible from the seed.
    let w = graph.initializers["w2"]!.floats
    #expect(w.allSatisfy { abs($0) <= 1 / Float(5).squareRoot() } && Set(w).count == w.count)
    var again = Self.mlp(transB: transB)
    try ClassifierHead.replace(in: &again, classes: 3, seed: 9)
    #expect(again.initializers["w2"] == graph.initializers["w2"])
    #expect(try Self.logits(graph, randn([2, 4], seed: 5)).shape == [2, 3])
  }

  @Test func matMulAddAndOneByOneConvHeads() throws {
    var linear = Graph(
      name: "matmul-add",
      nodes: [
        Node(name: "mm", opType: "MatMul", inputs: ["x", "w"], outputs: ["m"]),
        Node(name: "bias", opType: "Add", inputs: ["m", "b"], outputs: ["logits"]),
      ],
      initializers: ["w": randn([4, 6], seed: 1), "b": randn([6], seed: 2)],
      inputs: [ValueInfo(name: "x", dtype: .float32, shape: [.symbolic("batch"), .fixed(4)])],
      outputs: [ValueInfo(name: "logits", dtype: .float32, shape: nil)])
    let r = try ClassifierHead.replace(in: &linear, classes: 10, seed: 1)
    #expect(r.node == "bias" && r.tensors == ["w", "b"] && r.oldClasses == 6)
    #expect(try Self.logits(linear, randn([3, 4], seed: 3)).shape == [3, 10])
    // SqueezeNet's head: 1×1 Conv → Relu → GlobalAveragePool → Flatten.
    var squeeze = Graph(
      name: "conv-head",
      nodes: [
        Node(name: "conv", opType: "Conv", inputs: ["x", "w", "b"], outputs: ["c"], attributes: ["kernel_shape": .ints([1, 1])]),
        Node(name: "relu", opType: "Relu", inputs: ["c"], outputs: ["r"]),
        Node(name: "gap", opType: "GlobalAveragePool", inputs: ["r"], outputs: ["g"]),
        Node(name: "flat", opType: "Flatten", inputs: ["g"], outputs: ["logits"]),
      ],
      initializers: ["w": randn([7, 3, 1, 1], seed: 1), "b": randn([7], seed: 2)],
      inputs: [ValueInfo(name: "x", dtype: .float32, shape: [.symbolic("batch"), .fixed(3), .fixed(4), .fixed(4)])],
      outputs: [ValueInfo(name: "logits", dtype: .float32, shape: [.symbolic("batch"), .fixed(7)])])
    try ClassifierHead.replace(in: &squeeze, classes: 2, seed: 1)
    #expect(squeeze.initializers["w"]!.shape == [2, 3, 1, 1])
    #expect(try Self.logits(squeeze, randn([1, 3, 4, 4], seed: 3)).shape == [1, 2])
  }

  @Test func headsThatCannotBeReplacedAreRefusedNamingTheNode() throws {
    var spatial = singleOpGraph("Conv", inputs: ["x", "w"], parameters: ["w": randn([4, 2, 3, 3], seed: 1)])
    #expect { try ClassifierHead.replace(in: &spatial, classes: 2, seed: 1) } throws: {
      "\($0)".contains("'n0'") && "\($0)".contains("1×1")
    }
    var softmax = singleOpGraph("Softmax", inputs: ["x"])
    #expect { try ClassifierHead.replace(in: &softmax, classes: 2, seed: 1) } throws: {
      "\($0)".contains("Softmax") && "\($0)".contains("Gemm")
    }
    var tied = Self.mlp(transB: true)
    tied.nodes[0].inputs[1] = "w2"  // the head's weight also read by fc1
    #expect { try ClassifierHead.replace(in: &tied, classes: 2, seed: 1) } throws: { "\($0)".contains("shared") }
    var graph = Self.mlp(transB: true)
    #expect { try ClassifierHead.replace(in: &graph, classes: 0, seed: 1) } throws: { "\($0)".contains("0") }
  }
}
