import Foundation
import ModelGraph
import TensorCore
import Testing

@testable import Runtime

/// Conv's backward (images in parallel slices, each with its own dW) against the formula summed in
/// Double by plain loops, on batches that do not divide into the slices, with groups, strides,
/// dilations and pads, and with only some gradients wanted.
@Suite struct ConvBackwardTests {
  struct Case: Sendable, CustomStringConvertible {
    var x: [Int], w: [Int], group: Int, strides: [Int], dilations: [Int], pads: [Int]
    var needs: [Bool]  // dX, dW, dB
    var description: String { "x\(x) w\(w) g\(group) s\(strides) d\(dilations) p\(pads) needs \(needs)" }
  }

  static let cases: [Case] = [
    .init(
      x: [11, 1, 12, 12], w: [4, 1, 5, 5], group: 1, strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0],
      needs: [false, true, true]),
    .init(
      x: [3, 4, 7, 6], w: [6, 2, 3, 2], group: 2, strides: [2, 1], dilations: [1, 2], pads: [1, 0, 2, 1],
      needs: [true, true, true]),
    .init(
      x: [1, 3, 5, 5], w: [3, 1, 3, 3], group: 3, strides: [1, 1], dilations: [1, 1], pads: [1, 1, 1, 1],
      needs: [true, false, false]),
    .init(
      x: [9, 2, 6, 5], w: [5, 2, 2, 3], group: 1, strides: [2, 2], dilations: [2, 1], pads: [0, 1, 1, 0],
      needs: [true, true, false]),
    .init(
      x: [5, 2, 9], w: [3, 2, 3], group: 1, strides: [2], dilations: [1], pads: [1, 2],
      needs: [true, true, true]),
  ]

  func random(_ shape: [Int], seed: UInt64) -> Tensor {
    var rng = SeededGenerator(seed: seed)
    return Tensor(
      shape: shape, floats: (0..<shape.reduce(1, *)).map { _ in Float.random(in: -1...1, using: &rng) })
  }

  /// dX, dW, dB of y = conv(x, w) + b for the upstream gradient dy, by the formula (any spatial rank
  /// 1 or 2; 1-D read as height 1).
  func reference(_ c: Case, x: [Float], w: [Float], dy: [Float], output: [Int]) -> (
    dx: [Double], dw: [Double], db: [Double]
  ) {
    let spatial = c.x.count == 3 ? [1] + c.x[2...] : Array(c.x[2...])
    let kernel = c.w.count == 3 ? [1] + c.w[2...] : Array(c.w[2...])
    let (s, d) = c.x.count == 3 ? ([1] + c.strides, [1] + c.dilations) : (c.strides, c.dilations)
    let pad = c.x.count == 3 ? [0, c.pads[0]] : [c.pads[0], c.pads[1]]
    let out = output.count == 1 ? [1] + output : output
    let (batch, channels, m) = (c.x[0], c.x[1], c.w[0])
    let (cg, mg) = (channels / c.group, m / c.group)
    var dx = [Double](repeating: 0, count: x.count), dw = [Double](repeating: 0, count: w.count)
    var db = [Double](repeating: 0, count: m)
    for n in 0..<batch {
      for o in 0..<m {
        let g = o / mg
        for oy in 0..<out[0] {
          for ox in 0..<out[1] {
            let grad = Double(dy[((n * m + o) * out[0] + oy) * out[1] + ox])
            db[o] += grad
            for ci in 0..<cg {
              for i in 0..<kernel[0] {
                for j in 0..<kernel[1] {
                  let iy = oy * s[0] - pad[0] + i * d[0], ix = ox * s[1] - pad[1] + j * d[1]
                  guard iy >= 0, iy < spatial[0], ix >= 0, ix < spatial[1] else { continue }
                  let xi = ((n * channels + g * cg + ci) * spatial[0] + iy) * spatial[1] + ix
                  let wi = ((o * cg + ci) * kernel[0] + i) * kernel[1] + j
                  dw[wi] += grad * Double(x[xi])
                  dx[xi] += grad * Double(w[wi])
                }
              }
            }
          }
        }
      }
    }
    return (dx, dw, db)
  }

  @Test(arguments: cases) func matchesTheFormula(_ c: Case) throws {
    let (x, w, b) = (random(c.x, seed: 1), random(c.w, seed: 2), random([c.w[0]], seed: 3))
    let node = Node(
      name: "conv", opType: "Conv", inputs: ["x", "w", "b"], outputs: ["y"],
      attributes: [
        "group": .int(c.group), "strides": .ints(c.strides), "dilations": .ints(c.dilations),
        "pads": .ints(c.pads),
      ])
    let forward = OpContext(node: node, opset: 17, inputs: [x, w, b])
    let y = try ConvOps.conv(forward)
    let dy = random(y.shape, seed: 4)
    let ctx = BackwardContext(
      forward: forward, outputs: [y], saved: [], outputGrads: [dy], needsGrad: c.needs)
    let grads = try ConvBackward.convBackward(ctx)
    let expected = reference(c, x: x.floats, w: w.floats, dy: dy.floats, output: Array(y.shape[2...]))
    for (i, (name, want)) in [("dX", expected.dx), ("dW", expected.dw), ("dB", expected.db)].enumerated() {
      guard c.needs[i] else {
        #expect(grads[i] == nil, "\(name) was not asked for")
        continue
      }
      let got = try #require(grads[i]).floats
      #expect(got.count == want.count, "\(name) size")
      let scale = want.map(Swift.abs).max() ?? 1
      let worst = zip(got, want).map { Swift.abs(Double($0) - $1) }.max() ?? 0
      #expect(worst <= 1e-5 * Swift.max(scale, 1), "\(name): max |Δ| \(worst) (scale \(scale)) for \(c)")
    }
  }
}
