import ModelGraph
import Runtime
import TensorCore
import Testing

@testable import Training

/// Every backward rule of `Runtime/Backward` against central finite differences, on the ops of
/// all-MiniLM-L6-v2 and of the zoo's CNN families (random small shapes, seeded).
@Suite struct TransformerOpGradientTests {
  static func ints(_ values: [Int]) -> Tensor { Tensor(shape: [values.count], int64s: values.map(Int64.init)) }

  @Test(arguments: [[1, 0, 2], [0, 2, 1], [2, 1, 0]])
  func transpose(perm: [Int]) throws {
    let graph = singleOpGraph("Transpose", inputs: ["x"], attributes: ["perm": .ints(perm)])
    try GradientCheck(graph: graph, inputs: ["x": randn([2, 3, 4], seed: 1)]).run()
  }

  @Test func gatherEmbeddingRowsWithRepeats() throws {
    // Rows 1 and 3 read twice: their gradients add.
    let ids = Tensor(shape: [2, 3], int64s: [1, 3, 0, 3, 1, 4])
    let graph = singleOpGraph(
      "Gather", inputs: ["table", "ids"], parameters: ["table": randn([5, 4], seed: 2)], constants: ["ids": ids])
    try GradientCheck(graph: graph, inputs: [:]).run()
  }

  @Test func gatherScalarIndexOnAxis1() throws {
    let graph = singleOpGraph(
      "Gather", inputs: ["x", "i"], constants: ["i": Tensor(shape: [], int64s: [2])], attributes: ["axis": .int(1)])
    try GradientCheck(graph: graph, inputs: ["x": randn([2, 4, 3], seed: 1)]).run()
  }

  @Test func sliceWithStepAndNegativeAxis() throws {
    let graph = singleOpGraph(
      "Slice", inputs: ["x", "s", "e", "a", "st"],
      constants: ["s": Self.ints([1, 0]), "e": Self.ints([4, 3]), "a": Self.ints([-1, 1]), "st": Self.ints([2, 1])])
    try GradientCheck(graph: graph, inputs: ["x": randn([2, 3, 5], seed: 1)]).run()
  }

  @Test func unsqueezeSqueezeExpand() throws {
    try GradientCheck(
      graph: singleOpGraph("Unsqueeze", inputs: ["x", "a"], constants: ["a": Self.ints([1])]),
      inputs: ["x": randn([2, 3], seed: 1)]
    ).run()
    try GradientCheck(
      graph: singleOpGraph("Squeeze", inputs: ["x", "a"], constants: ["a": Self.ints([1])]),
      inputs: ["x": randn([2, 1, 3], seed: 1)]
    ).run()
    try GradientCheck(
      graph: singleOpGraph("Expand", inputs: ["x", "s"], constants: ["s": Self.ints([2, 4, 3])]),
      inputs: ["x": randn([4, 1], seed: 1)]
    ).run()
  }

  @Test func whereBothBranches() throws {
    let cond = Tensor(shape: [3, 1], bools: [true, false, true])
    let graph = singleOpGraph("Where", inputs: ["c", "x", "y"], constants: ["c": cond])
    try GradientCheck(graph: graph, inputs: ["x": randn([3, 4], seed: 1), "y": randn([4], seed: 2)]).run()
  }

  @Test func powSqrtAndReduceMeanOfDecomposedLayerNorm() throws {
    let positive = randn([2, 3, 4], seed: 1).map { abs($0) + 0.5 }
    try GradientCheck(
      graph: singleOpGraph("Pow", inputs: ["x", "p"], constants: ["p": .scalar(2)]), inputs: ["x": positive]
    ).run()
    try GradientCheck(graph: singleOpGraph("Pow", inputs: ["x", "p"]), inputs: ["x": positive, "p": .scalar(1.7)])
      .run()
    try GradientCheck(graph: singleOpGraph("Sqrt", inputs: ["x"]), inputs: ["x": positive]).run()
    try GradientCheck(
      graph: singleOpGraph("ReduceMean", inputs: ["x"], attributes: ["axes": .ints([-1]), "keepdims": .int(1)]),
      inputs: ["x": randn([2, 3, 4], seed: 1)]
    ).run()
    try GradientCheck(
      graph: singleOpGraph("ReduceSum", inputs: ["x", "a"], constants: ["a": Self.ints([0, 2])], attributes: ["keepdims": .int(0)]),
      inputs: ["x": randn([2, 3, 4], seed: 1)]
    ).run()
  }

  @Test func softmaxWithAdditiveMask() throws {
    // Softmax(scores + mask) as in MiniLM's attention: −10000 on padded keys.
    let mask = Tensor(shape: [1, 1, 4], floats: [0, 0, -10000, 0])
    let graph = Graph(
      name: "masked-softmax",
      nodes: [
        Node(name: "add", opType: "Add", inputs: ["x", "mask"], outputs: ["s"]),
        Node(name: "softmax", opType: "Softmax", inputs: ["s"], outputs: ["y0"], attributes: ["axis": .int(-1)]),
      ],
      initializers: ["mask": mask], inputs: [], outputs: [ValueInfo(name: "y0", dtype: .float32, shape: nil)])
    try GradientCheck(graph: graph, inputs: ["x": randn([2, 3, 4], seed: 1)]).run()
  }

  @Test func softmaxBeforeOpset13FlattensFromAxis() throws {
    var graph = singleOpGraph("Softmax", inputs: ["x"], attributes: ["axis": .int(1)])
    graph.opsetVersion = 11
    try GradientCheck(graph: graph, inputs: ["x": randn([2, 3, 2], seed: 1)]).run()
    var log = singleOpGraph("LogSoftmax", inputs: ["x"], attributes: ["axis": .int(-1)])
    log.opsetVersion = 13
    try GradientCheck(graph: log, inputs: ["x": randn([2, 3, 2], seed: 1)]).run()
  }

  @Test func castFloatToFloatPassesAndShapeIsNotDifferentiable() throws {
    let graph = Graph(
      name: "cast-shape",
      nodes: [
        Node(name: "shape", opType: "Shape", inputs: ["x"], outputs: ["s"]),
        Node(name: "reshape", opType: "Reshape", inputs: ["x", "s"], outputs: ["r"]),
        Node(name: "cast", opType: "Cast", inputs: ["r"], outputs: ["y0"], attributes: ["to": .int(1)]),
      ],
      initializers: [:], inputs: [], outputs: [ValueInfo(name: "y0", dtype: .float32, shape: nil)])
    try GradientCheck(graph: graph, inputs: ["x": randn([2, 3], seed: 1)]).run()
  }

  @Test func splitAndConcatRoundTrip() throws {
    let graph = singleOpGraph(
      "Split", inputs: ["x", "sizes"], constants: ["sizes": Self.ints([1, 3])], attributes: ["axis": .int(1)],
      outputs: 2)
    try GradientCheck(graph: graph, inputs: ["x": randn([2, 4], seed: 1)]).run()
  }

  @Test func layerNormalizationLastAxis() throws {
    let graph = singleOpGraph(
      "LayerNormalization", inputs: ["x", "scale", "bias"],
      parameters: ["scale": randn([4], seed: 2), "bias": randn([4], seed: 3)], attributes: ["epsilon": .float(1e-5)])
    try GradientCheck(graph: graph, inputs: ["x": randn([2, 3, 4], seed: 1, scale: 2)]).run()
  }
}

@Suite struct CNNOpGradientTests {
  @Test(arguments: [1, 2, 4])
  func groupedAndDepthwiseConv(groups: Int) throws {
    let graph = singleOpGraph(
      "Conv", inputs: ["x", "w", "b"], parameters: ["w": randn([4, 4 / groups, 3, 3], seed: 2), "b": randn([4], seed: 3)],
      attributes: ["group": .int(groups), "pads": .ints([1, 0, 1, 2]), "strides": .ints([2, 1])])
    try GradientCheck(graph: graph, inputs: ["x": randn([2, 4, 5, 4], seed: 1)]).run()
  }

  @Test func conv1DDilated() throws {
    let graph = singleOpGraph(
      "Conv", inputs: ["x", "w"], parameters: ["w": randn([3, 2, 2], seed: 2)],
      attributes: ["dilations": .ints([2]), "pads": .ints([1, 1])])
    try GradientCheck(graph: graph, inputs: ["x": randn([2, 2, 6], seed: 1)]).run()
  }

  @Test func mobileNetActivations() throws {
    let x = randn([3, 8], seed: 1, scale: 4).map { v in
      // away from the kinks at −3, 0, 3, 6 and HardSigmoid's ±2.5
      var v = v
      for kink: Float in [-3, -2.5, 0, 2.5, 3, 6] where abs(v - kink) < 0.05 { v += 0.1 }
      return v
    }
    for (op, attributes) in [
      ("Sigmoid", [:]), ("HardSwish", [:]), ("HardSigmoid", ["alpha": Attribute.float(0.2)]), ("Tanh", [:]),
      ("LeakyRelu", ["alpha": .float(0.1)]),
    ] as [(String, [String: Attribute])] {
      try GradientCheck(graph: singleOpGraph(op, inputs: ["x"], attributes: attributes), inputs: ["x": x]).run()
    }
    let clip = singleOpGraph(
      "Clip", inputs: ["x", "lo", "hi"], constants: ["lo": .scalar(0), "hi": .scalar(6)])
    try GradientCheck(graph: clip, inputs: ["x": x]).run()
  }

  @Test func squeezeExciteMul() throws {
    let graph = Graph(
      name: "se",
      nodes: [
        Node(name: "gap", opType: "GlobalAveragePool", inputs: ["x"], outputs: ["g"]),
        Node(name: "sig", opType: "HardSigmoid", inputs: ["g"], outputs: ["s"]),
        Node(name: "mul", opType: "Mul", inputs: ["x", "s"], outputs: ["y0"]),
      ],
      initializers: [:], inputs: [], outputs: [ValueInfo(name: "y0", dtype: .float32, shape: nil)])
    try GradientCheck(graph: graph, inputs: ["x": randn([2, 3, 3, 3], seed: 1)]).run()
  }

  @Test func opWithoutBackwardNamesNodeAndOpType() throws {
    let graph = singleOpGraph("Trilu", inputs: ["x"])
    var context = ForwardContext(training: true)
    #expect {
      _ = try ForwardPass(graph: graph, inputs: ["x": randn([2, 2], seed: 1)], context: &context)
    } throws: { error in
      let text = "\(error)"
      return text.contains("'n0'") && text.contains("Trilu") && text.contains("backward")
    }
  }
}
