import Foundation
import ModelGraph
import TensorCore
import Testing

@testable import Runtime

/// Pooling's window walk: the fast path (windows wholly inside the input, no bounds test per tap)
/// against the checked walk, and MaxPool / AveragePool forward and backward against scalar
/// references, on seeded random geometries (odd sizes, pads, strides, dilations, ceil_mode,
/// count_include_pad).
@Suite struct PoolWindowTests {
  struct Geometry: CustomStringConvertible {
    var shape: [Int]  // [N, C, H, W]
    var kernel: [Int], strides: [Int], dilations: [Int], pads: [Int]
    var ceil: Bool, includePad: Bool
    var description: String {
      "x\(shape) k\(kernel) s\(strides) d\(dilations) p\(pads) ceil \(ceil) includePad \(includePad)"
    }

    func node(_ op: String) -> Node {
      Node(
        name: "pool", opType: op, inputs: ["x"], outputs: ["y"],
        attributes: [
          "kernel_shape": .ints(kernel), "strides": .ints(strides), "dilations": .ints(dilations),
          "pads": .ints(pads), "ceil_mode": .int(ceil ? 1 : 0), "count_include_pad": .int(includePad ? 1 : 0),
        ])
    }

    /// The window geometry, or nil when no window fits the input (ConvWindow refuses it).
    func window(_ op: String = "MaxPool") -> ConvWindow? {
      let ctx = OpContext(node: node(op), opset: 19, inputs: [])
      return try? ConvWindow(ctx, spatial: Array(shape[2...]), kernel: kernel, ceilMode: ceil)
    }
  }

  /// Seeded random geometries whose windows fit, plus LeNet-5's 2×2/2 pools.
  static func geometries(count: Int, seed: UInt64) -> [Geometry] {
    var rng = SeededGenerator(seed: seed)
    var result = [
      Geometry(
        shape: [2, 3, 24, 24], kernel: [2, 2], strides: [2, 2], dilations: [1, 1], pads: [0, 0, 0, 0],
        ceil: false,
        includePad: false),
      Geometry(
        shape: [1, 2, 7, 9], kernel: [3, 3], strides: [2, 2], dilations: [1, 1], pads: [1, 1, 1, 1],
        ceil: true,
        includePad: true),
    ]
    while result.count < count {
      let k = [Int.random(in: 1...4, using: &rng), Int.random(in: 1...4, using: &rng)]
      let g = Geometry(
        shape: [Int.random(in: 1...2, using: &rng), Int.random(in: 1...3, using: &rng)]
          + [Int.random(in: 1...11, using: &rng), Int.random(in: 1...11, using: &rng)],
        kernel: k, strides: (0..<2).map { _ in Int.random(in: 1...3, using: &rng) },
        dilations: (0..<2).map { _ in Int.random(in: 1...2, using: &rng) },
        pads: (0..<4).map { i in Int.random(in: 0...Swift.min(2, k[i % 2] - 1), using: &rng) },
        ceil: Bool.random(using: &rng), includePad: Bool.random(using: &rng))
      if g.window() != nil { result.append(g) }
    }
    return result
  }

  static let cases = geometries(count: 120, seed: 11)

  /// The taps of window (oy, ox) by the checked walk, and how many fell in the explicit padding.
  func checkedTaps(_ walk: WindowWalk2D, _ oy: Int, _ ox: Int) -> (taps: [Int], padded: Int) {
    var taps: [Int] = []
    let padded = walk.forEachCheckedTap(oy: oy, ox: ox) { taps.append($0) }
    return (taps, padded)
  }

  @Test func interiorIsExactlyTheWindowsInsideTheInput() throws {
    var (interior, border) = (0, 0)
    for g in Self.cases {
      let walk = WindowWalk2D(try #require(g.window()))
      for oy in 0..<walk.outHeight {
        for ox in 0..<walk.outWidth {
          let (taps, padded) = checkedTaps(walk, oy, ox)
          let inside = taps.count == walk.kernelH * walk.kernelW
          let fast = walk.interiorRows.contains(oy) && walk.interiorCols.contains(ox)
          #expect(fast == inside, "\(g) at (\(oy), \(ox)): interior \(fast), \(taps.count) taps inside")
          var walked: [Int] = []
          let walkedPadded = walk.forEachTap(oy: oy, ox: ox) { walked.append($0) }
          #expect(walked == taps && walkedPadded == padded, "\(g) at (\(oy), \(ox))")
          if fast { interior += 1 } else { border += 1 }
        }
      }
    }
    #expect(interior > 500 && border > 500, "interior \(interior), border \(border) windows")
  }

  func input(_ g: Geometry, seed: UInt64) -> Tensor {
    var rng = SeededGenerator(seed: seed)
    return Tensor(
      shape: g.shape, floats: (0..<g.shape.reduce(1, *)).map { _ in Float.random(in: -2...2, using: &rng) })
  }

  /// Forward: exactly the N-D scalar walk's result (same taps, same order of the sums).
  @Test(arguments: [true, false]) func forwardMatchesTheScalarWalk(max isMax: Bool) throws {
    for (i, g) in Self.cases.enumerated() {
      let op = isMax ? "MaxPool" : "AveragePool"
      let x = input(g, seed: UInt64(i))
      let y = try PoolOps.pool(OpContext(node: g.node(op), opset: 19, inputs: [x]), max: isMax)
      let expected = ConvND.pool(x, win: try #require(g.window(op)), max: isMax, includePad: g.includePad)
      #expect(y.shape == expected.shape && y.floats == expected.floats, "\(op) \(g)")
    }
  }

  /// dX by plain loops: MaxPool routes dy to the first tap (row-major) equal to the output,
  /// AveragePool spreads dy / divisor over the taps inside the input.
  func referenceBackward(
    _ g: Geometry, _ win: ConvWindow, x: [Float], y: [Float], dy: [Float], max isMax: Bool
  )
    -> [Float]
  {
    let (h, w, oh, ow) = (g.shape[2], g.shape[3], win.output[0], win.output[1])
    var dx = [Float](repeating: 0, count: x.count)
    for plane in 0..<(g.shape[0] * g.shape[1]) {
      for oy in 0..<oh {
        for ox in 0..<ow {
          var taps: [Int] = []
          var padded = 0
          for i in 0..<g.kernel[0] {
            for j in 0..<g.kernel[1] {
              let iy = oy * g.strides[0] - win.padsBegin[0] + i * g.dilations[0]
              let ix = ox * g.strides[1] - win.padsBegin[1] + j * g.dilations[1]
              if iy >= 0 && iy < h && ix >= 0 && ix < w {
                taps.append(plane * h * w + iy * w + ix)
              } else if iy < h + win.padsEnd[0] && ix < w + win.padsEnd[1] {
                padded += 1
              }
            }
          }
          let o = (plane * oh + oy) * ow + ox
          if isMax {
            if let hit = taps.first(where: { x[$0] == y[o] }) { dx[hit] += dy[o] }
          } else {
            let share = dy[o] / Float(Swift.max(g.includePad ? taps.count + padded : taps.count, 1))
            for t in taps { dx[t] += share }
          }
        }
      }
    }
    return dx
  }

  @Test(arguments: [true, false]) func backwardMatchesTheScalarReference(max isMax: Bool) throws {
    for (i, g) in Self.cases.enumerated() {
      let op = isMax ? "MaxPool" : "AveragePool"
      let win = try #require(g.window(op))
      let x = input(g, seed: UInt64(i))
      let forward = OpContext(node: g.node(op), opset: 19, inputs: [x])
      let y = try PoolOps.pool(forward, max: isMax)
      let dy = input(
        Geometry(
          shape: y.shape, kernel: [], strides: [], dilations: [], pads: [], ceil: false, includePad: false),
        seed: UInt64(1000 + i))
      let ctx = BackwardContext(
        forward: forward, outputs: [y], saved: [], outputGrads: [dy], needsGrad: [true])
      let dx = try PoolBackward.windowBackward(ctx, max: isMax)
      let expected = referenceBackward(g, win, x: x.floats, y: y.floats, dy: dy.floats, max: isMax)
      #expect(dx.shape == x.shape && dx.floats == expected, "\(op) backward \(g)")
    }
  }
}
