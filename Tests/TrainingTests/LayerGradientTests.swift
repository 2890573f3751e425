import Foundation
import ModelGraph
import TensorCore
import Testing

@testable import Training

@Suite struct ActivationAndShapeGradientTests {
  @Test func relu() throws {
    try GradientCheck(
      graph: singleOpGraph("Relu", inputs: ["x"]), inputs: ["x": awayFromZero([3, 7], seed: 1)]
    ).run()
  }

  @Test(arguments: ["none", "tanh"])
  func gelu(approximate: String) throws {
    let graph = singleOpGraph("Gelu", inputs: ["x"], attributes: ["approximate": .string(approximate)])
    try GradientCheck(graph: graph, inputs: ["x": randn([4, 6], seed: 1, scale: 2)]).run()
  }

  @Test func flattenAndReshape() throws {
    try GradientCheck(
      graph: singleOpGraph("Flatten", inputs: ["x"], attributes: ["axis": .int(2)]),
      inputs: ["x": randn([2, 3, 4], seed: 1)]
    ).run()
    let graph = singleOpGraph(
      "Reshape", inputs: ["x", "shape"], constants: ["shape": Tensor(shape: [3], int64s: [0, -1, 2])])
    try GradientCheck(graph: graph, inputs: ["x": randn([2, 3, 4], seed: 1)]).run()
  }

  @Test func addBroadcast() throws {
    let graph = singleOpGraph("Add", inputs: ["a", "b"])
    try GradientCheck(graph: graph, inputs: ["a": randn([2, 3, 4], seed: 1), "b": randn([3, 1], seed: 2)])
      .run()
  }

  @Test func concatMiddleAxis() throws {
    let graph = singleOpGraph("Concat", inputs: ["a", "b", "c"], attributes: ["axis": .int(1)])
    try GradientCheck(
      graph: graph,
      inputs: [
        "a": randn([2, 1, 3], seed: 1), "b": randn([2, 3, 3], seed: 2), "c": randn([2, 2, 3], seed: 3),
      ]
    ).run()
  }

  @Test func dropoutTrainingAndEval() throws {
    let graph = singleOpGraph("Dropout", inputs: ["x", "ratio"], constants: ["ratio": .scalar(0.3)])
    let x = randn([4, 50], seed: 1)
    try GradientCheck(graph: graph, inputs: ["x": x], training: true).run()
    var context = ForwardContext(training: true, seed: 5)
    let y = try ForwardPass(graph: graph, inputs: ["x": x], context: &context).value("y0")!.floats
    let dropped = y.filter { $0 == 0 }.count
    #expect(dropped > 30 && dropped < 90)  // ~60 of 200 at ratio 0.3
    for (yi, xi) in zip(y, x.floats) where yi != 0 { #expect(abs(yi - xi / 0.7) < 1e-6) }
    var evalContext = ForwardContext(training: false)
    #expect(try ForwardPass(graph: graph, inputs: ["x": x], context: &evalContext).value("y0")! == x)
  }

  @Test func softmaxBothAxes() throws {
    for axis in [-1, 1] {
      let graph = singleOpGraph("Softmax", inputs: ["x"], attributes: ["axis": .int(axis)])
      try GradientCheck(graph: graph, inputs: ["x": randn([2, 4, 3], seed: 1)]).run()
    }
  }

  @Test func softmaxCrossEntropyGradient() throws {
    let logits = randn([5, 7], seed: 1, scale: 2), labels = [0, 3, 6, 2, 2]
    let (loss, grad, _) = try Loss.softmaxCrossEntropy(logits: logits, labels: labels)
    let eps: Float = 1e-2
    for i in 0..<logits.count {
      var plus = logits.floats, minus = plus
      plus[i] += eps
      minus[i] -= eps
      let lp = try Loss.softmaxCrossEntropy(logits: Tensor(shape: [5, 7], floats: plus), labels: labels).loss
      let lm = try Loss.softmaxCrossEntropy(logits: Tensor(shape: [5, 7], floats: minus), labels: labels).loss
      let numeric = (Double(lp) - Double(lm)) / (2 * Double(eps))
      #expect(abs(Double(grad.floats[i]) - numeric) < 1e-3, "logit \(i)")
    }
    // Definition: −mean log softmax at the label.
    let z = logits.floats
    var expected = 0.0
    for row in 0..<5 {
      let s = (0..<7).map { exp(Double(z[row * 7 + $0])) }.reduce(0, +)
      expected -= log(exp(Double(z[row * 7 + labels[row]])) / s) / 5
    }
    #expect(abs(Double(loss) - expected) < 1e-5)
  }
}

@Suite struct PoolingAndNormGradientTests {
  @Test func maxPoolStridedPadded() throws {
    let graph = singleOpGraph(
      "MaxPool", inputs: ["x"],
      attributes: ["kernel_shape": .ints([3, 3]), "strides": .ints([2, 2]), "pads": .ints([1, 1, 1, 1])])
    try GradientCheck(graph: graph, inputs: ["x": distinct([2, 2, 5, 6], seed: 1)], eps: 1e-3).run()
  }

  @Test(arguments: [0, 1])
  func averagePool(countIncludePad: Int) throws {
    let graph = singleOpGraph(
      "AveragePool", inputs: ["x"],
      attributes: [
        "kernel_shape": .ints([2, 3]), "strides": .ints([2, 1]), "pads": .ints([1, 0, 0, 1]),
        "count_include_pad": .int(countIncludePad),
      ])
    try GradientCheck(graph: graph, inputs: ["x": randn([1, 2, 5, 4], seed: 1)]).run()
  }

  @Test func globalAveragePool() throws {
    try GradientCheck(
      graph: singleOpGraph("GlobalAveragePool", inputs: ["x"]), inputs: ["x": randn([2, 3, 4, 5], seed: 1)]
    ).run()
  }

  func batchNormGraph() -> Graph {
    singleOpGraph(
      "BatchNormalization", inputs: ["x", "scale", "bias", "mean", "var"],
      parameters: ["scale": randn([3], seed: 2), "bias": randn([3], seed: 3)],
      constants: ["mean": randn([3], seed: 4), "var": randn([3], seed: 5).map { 0.5 + $0 * $0 }],
      attributes: ["epsilon": .float(1e-3)])
  }

  @Test func batchNormTrainingMode() throws {
    let graph = batchNormGraph()
    #expect(graph.trainableParameterNames() == ["bias", "scale"])
    let x = randn([4, 3, 2, 2], seed: 1, scale: 2)
    try GradientCheck(graph: graph, inputs: ["x": x], training: true).run()
    // Running statistics: 0.9·old + 0.1·batch (unbiased variance).
    var context = ForwardContext(training: true)
    let pass = try ForwardPass(graph: graph, inputs: ["x": x], context: &context)
    let xv = x.floats
    let channel0 = (0..<4).flatMap { n in (0..<4).map { xv[n * 12 + $0] } }.map(Double.init)
    let mu = channel0.reduce(0, +) / 16
    let unbiased = channel0.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / 15
    let oldMean = Double(graph.initializers["mean"]!.floats[0]),
      oldVar = Double(graph.initializers["var"]!.floats[0])
    #expect(abs(Double(pass.stateUpdates["mean"]!.floats[0]) - (0.9 * oldMean + 0.1 * mu)) < 1e-5)
    #expect(abs(Double(pass.stateUpdates["var"]!.floats[0]) - (0.9 * oldVar + 0.1 * unbiased)) < 1e-5)
  }

  @Test func batchNormEvalMode() throws {
    try GradientCheck(graph: batchNormGraph(), inputs: ["x": randn([2, 3, 2, 3], seed: 1)]).run()
  }

  @Test func layerNorm() throws {
    let graph = singleOpGraph(
      "LayerNormalization", inputs: ["x", "scale", "bias"],
      parameters: ["scale": randn([3, 4], seed: 2), "bias": randn([3, 4], seed: 3)],
      attributes: ["axis": .int(1)])
    try GradientCheck(graph: graph, inputs: ["x": randn([2, 3, 4], seed: 1, scale: 2)]).run()
  }
}

@Suite struct ArithmeticGradientTests {
  @Test(arguments: ["Sub", "Mul", "Div"])
  func binaryBroadcast(op: String) throws {
    let b = randn([4, 1], seed: 2).map { $0 >= 0 ? $0 + 0.5 : $0 - 0.5 }  // away from 0 for Div
    let graph = singleOpGraph(op, inputs: ["a", "b"])
    try GradientCheck(graph: graph, inputs: ["a": randn([2, 4, 3], seed: 1), "b": b]).run()
  }

  @Test func erf() throws {
    try GradientCheck(graph: singleOpGraph("Erf", inputs: ["x"]), inputs: ["x": randn([3, 5], seed: 1)]).run()
  }
}
