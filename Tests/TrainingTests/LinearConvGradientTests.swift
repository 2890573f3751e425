import ModelGraph
import TensorCore
import Testing

@testable import Training

@Suite struct LinearGradientTests {
  @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
  func gemmAllTransposes(transA: Bool, transB: Bool) throws {
    let (m, k, n) = (3, 4, 5)
    let a = randn(transA ? [k, m] : [m, k], seed: 1), b = randn(transB ? [n, k] : [k, n], seed: 2)
    let graph = singleOpGraph(
      "Gemm", inputs: ["a", "b", "c"], parameters: ["b": b, "c": randn([n], seed: 3)],
      attributes: [
        "transA": .int(transA ? 1 : 0), "transB": .int(transB ? 1 : 0), "alpha": .float(0.7),
        "beta": .float(1.3),
      ])
    try GradientCheck(graph: graph, inputs: ["a": a]).run()
    // Forward against the definition Y = alpha·A'·B' + beta·C.
    var context = ForwardContext(training: false)
    let y = try ForwardPass(graph: graph, inputs: ["a": a], context: &context).value("y0")!.floats
    let av = a.floats, bv = b.floats, cv = graph.initializers["c"]!.floats
    for i in 0..<m {
      for j in 0..<n {
        var s = 0.0
        for p in 0..<k {
          s += Double(transA ? av[p * m + i] : av[i * k + p]) * Double(transB ? bv[j * k + p] : bv[p * n + j])
        }
        #expect(abs(Double(y[i * n + j]) - (0.7 * s + 1.3 * Double(cv[j]))) < 1e-5)
      }
    }
  }

  @Test func gemmBiasColumnBroadcast() throws {
    let graph = singleOpGraph(
      "Gemm", inputs: ["a", "b", "c"],
      parameters: ["b": randn([4, 2], seed: 2), "c": randn([3, 1], seed: 3)])
    try GradientCheck(graph: graph, inputs: ["a": randn([3, 4], seed: 1)]).run()
  }

  @Test func matMulTwoDimensionalWeight() throws {
    let graph = singleOpGraph("MatMul", inputs: ["a", "b"], parameters: ["b": randn([4, 3], seed: 2)])
    try GradientCheck(graph: graph, inputs: ["a": randn([2, 3, 4], seed: 1)]).run()
  }

  @Test func matMulBatched() throws {
    let graph = singleOpGraph("MatMul", inputs: ["a", "b"])
    try GradientCheck(
      graph: graph, inputs: ["a": randn([2, 3, 4], seed: 1), "b": randn([2, 4, 5], seed: 2)]
    ).run()
  }

  /// Batch axes broadcast against each other ([2, 1] with [3] → [2, 3]): each input's gradient is
  /// summed back over the axes it was broadcast along.
  @Test func matMulBroadcastBatch() throws {
    let graph = singleOpGraph("MatMul", inputs: ["a", "b"])
    try GradientCheck(
      graph: graph, inputs: ["a": randn([2, 1, 3, 4], seed: 1), "b": randn([3, 4, 5], seed: 2)]
    ).run()
  }
}

/// Direct 2-D convolution in Float64, the definition the im2col path is checked against.
func convReference(
  x: Tensor, w: Tensor, b: Tensor?, stride: Int, pad: Int, dilation: Int, groups: Int
) -> (shape: [Int], values: [Double]) {
  let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
  let (m, cg, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
  let oh = (h + 2 * pad - dilation * (kh - 1) - 1) / stride + 1
  let ow = (wd + 2 * pad - dilation * (kw - 1) - 1) / stride + 1
  let xv = x.floats, wv = w.floats, bv = b?.floats
  var out = [Double](repeating: 0, count: n * m * oh * ow)
  for img in 0..<n {
    for oc in 0..<m {
      let g = oc / (m / groups)
      for oy in 0..<oh {
        for ox in 0..<ow {
          var s = Double(bv?[oc] ?? 0)
          for ic in 0..<cg {
            for ky in 0..<kh {
              for kx in 0..<kw {
                let iy = oy * stride - pad + ky * dilation, ix = ox * stride - pad + kx * dilation
                guard iy >= 0, iy < h, ix >= 0, ix < wd else { continue }
                let xi = ((img * c + g * cg + ic) * h + iy) * wd + ix
                s += Double(xv[xi]) * Double(wv[((oc * cg + ic) * kh + ky) * kw + kx])
              }
            }
          }
          out[((img * m + oc) * oh + oy) * ow + ox] = s
        }
      }
    }
  }
  return ([n, m, oh, ow], out)
}

@Suite struct ConvGradientTests {
  static let cases: [(stride: Int, pad: Int, dilation: Int, groups: Int)] = [
    (1, 0, 1, 1), (2, 1, 1, 1), (1, 2, 2, 1), (2, 1, 1, 2), (1, 1, 1, 4),
  ]

  @Test(arguments: cases)
  func conv(_ c: (stride: Int, pad: Int, dilation: Int, groups: Int)) throws {
    let x = randn([2, 4, 6, 5], seed: 1)
    let w = randn([4, 4 / c.groups, 3, 3], seed: 2, scale: 0.5), b = randn([4], seed: 3)
    let attributes: [String: Attribute] = [
      "strides": .ints([c.stride, c.stride]), "pads": .ints([c.pad, c.pad, c.pad, c.pad]),
      "dilations": .ints([c.dilation, c.dilation]), "group": .int(c.groups), "kernel_shape": .ints([3, 3]),
    ]
    let graph = singleOpGraph(
      "Conv", inputs: ["x", "w", "b"], parameters: ["w": w, "b": b], attributes: attributes)
    try GradientCheck(graph: graph, inputs: ["x": x]).run()
    var context = ForwardContext(training: false)
    let y = try ForwardPass(graph: graph, inputs: ["x": x], context: &context).value("y0")!
    let reference = convReference(
      x: x, w: w, b: b, stride: c.stride, pad: c.pad, dilation: c.dilation, groups: c.groups)
    #expect(y.shape == reference.shape)
    let worst = zip(y.floats, reference.values).map { abs(Double($0) - $1) }.max() ?? 1
    #expect(worst < 1e-4)
  }

  @Test func convSameUpperNoBias() throws {
    let graph = singleOpGraph(
      "Conv", inputs: ["x", "w"], parameters: ["w": randn([3, 2, 2, 2], seed: 2)],
      attributes: ["auto_pad": .string("SAME_UPPER"), "strides": .ints([2, 2])])
    try GradientCheck(graph: graph, inputs: ["x": randn([1, 2, 5, 5], seed: 1)]).run()
  }
}
