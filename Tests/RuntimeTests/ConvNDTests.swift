import Foundation
import ModelGraph
import TensorCore
import Testing

@testable import Runtime

/// The 3-D convolution (depth taps over `conv2d`) against the direct scalar reference, on seeded
/// random data with padding, strides, dilations and groups.
@Suite struct ConvNDTests {
  struct Geometry: Sendable, CustomStringConvertible {
    var x: [Int], w: [Int], group: Int, strides: [Int], dilations: [Int], pads: [Int]
    var description: String { "x\(x) w\(w) g\(group) s\(strides) d\(dilations) p\(pads)" }
  }

  static let geometries: [Geometry] = [
    .init(x: [1, 2, 4, 5, 6], w: [3, 2, 2, 3, 3], group: 1, strides: [1, 1, 1], dilations: [1, 1, 1], pads: [0, 0, 0, 0, 0, 0]),
    .init(x: [2, 4, 5, 6, 7], w: [6, 2, 3, 2, 3], group: 2, strides: [2, 1, 2], dilations: [1, 2, 1], pads: [1, 0, 2, 2, 1, 0]),
    .init(x: [1, 3, 3, 4, 4], w: [3, 1, 3, 3, 1], group: 3, strides: [1, 2, 1], dilations: [2, 1, 1], pads: [2, 1, 0, 2, 1, 0]),
  ]

  @Test(arguments: geometries) func depthTapsMatchTheScalarReference(_ g: Geometry) throws {
    var rng = SeededGenerator(seed: 7)
    func random(_ shape: [Int]) -> Tensor {
      Tensor(shape: shape, floats: (0..<shape.reduce(1, *)).map { _ in Float.random(in: -1...1, using: &rng) })
    }
    let (x, w) = (random(g.x), random(g.w))
    let bias = (0..<g.w[0]).map { Float($0) * 0.25 - 0.5 }
    let node = Node(
      name: "conv", opType: "Conv", inputs: ["x", "w", "b"], outputs: ["y"],
      attributes: [
        "group": .int(g.group), "strides": .ints(g.strides), "dilations": .ints(g.dilations), "pads": .ints(g.pads),
      ])
    let ctx = OpContext(node: node, opset: 17, inputs: [x, w, Tensor(shape: [g.w[0]], floats: bias)])
    let y = try ConvOps.conv(ctx)
    let win = try ConvWindow(ctx, spatial: Array(g.x[2...]), kernel: Array(g.w[2...]))
    let expected = ConvND.reference(
      x, w, bias: bias, strides: g.strides, padsBegin: Array(g.pads[..<3]), dilations: g.dilations, group: g.group,
      output: win.output)
    #expect(y.shape == expected.shape)
    let worst = zip(y.floats, expected.floats).map { Swift.abs($0 - $1) }.max() ?? 0
    #expect(worst <= 1e-4, "max |Δ| \(worst)")
  }
}
