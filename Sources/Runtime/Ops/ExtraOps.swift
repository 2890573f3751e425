import Foundation
import ModelGraph
import TensorCore

/// Ops ordinary exported models use beyond the core families (ONNX operator spec, Operators.md):
/// PRelu, Mish, Selu, Celu, Softsign, ThresholdedRelu, Tan, Atan, Mean, LRN (AlexNet/GoogLeNet-era
/// models), DepthToSpace (PixelShuffle) and SpaceToDepth. Scalar loops: none of these is hot.
enum ExtraOps {
  static func register(into table: inout [OpKey: OpDefinition]) {
    // PRelu(X, slope): slope broadcasts to X (unidirectionally), e.g. [C, 1, 1] for NCHW.
    table[OpKey("PRelu")] = OpDefinition { ctx in
      let x = try ctx.input(0)
      let slope = try ctx.input(1)
      guard Indexing.broadcast(x.shape, slope.shape) == x.shape else {
        throw ctx.shapeError(expected: "a slope that broadcasts to \(x.shape)", found: "\(slope.shape)")
      }
      return [try ElementwiseOps.binary(&ctx, { $0 >= 0 ? $0 : $0 * $1 }, { $0 >= 0 ? $0 : $0 &* $1 })]
    }
    // Mish(x) = x·tanh(softplus(x)) (opset 18).
    table[OpKey("Mish")] = OpDefinition { ctx in
      [try ElementwiseOps.unary(&ctx, { x in x * tanhf(x > 20 ? x : log1pf(expf(x))) })]
    }
    table[OpKey("Selu")] = OpDefinition { ctx in
      let alpha = try ctx.float("alpha", default: 1.67326319217681884765625)
      let gamma = try ctx.float("gamma", default: 1.05070102214813232421875)
      return [try ElementwiseOps.unary(&ctx, { $0 > 0 ? gamma * $0 : gamma * alpha * (expf($0) - 1) })]
    }
    table[OpKey("Celu")] = OpDefinition { ctx in
      let alpha = try ctx.float("alpha", default: 1)
      return [
        try ElementwiseOps.unary(&ctx, { Swift.max(0, $0) + Swift.min(0, alpha * (expf($0 / alpha) - 1)) })
      ]
    }
    table[OpKey("Softsign")] = OpDefinition { ctx in [try ElementwiseOps.unary(&ctx, { $0 / (1 + abs($0)) })]
    }
    table[OpKey("ThresholdedRelu")] = OpDefinition { ctx in
      let alpha = try ctx.float("alpha", default: 1)
      return [try ElementwiseOps.unary(&ctx, { $0 > alpha ? $0 : 0 })]
    }
    table[OpKey("Tan")] = OpDefinition { ctx in [try ElementwiseOps.unary(&ctx, { tanf($0) })] }
    table[OpKey("Atan")] = OpDefinition { ctx in [try ElementwiseOps.unary(&ctx, { atanf($0) })] }
    table[OpKey("Mean")] = OpDefinition { ctx in
      let n = Float(Swift.max(ctx.inputCount, 1))
      var sum = try ElementwiseOps.variadic(&ctx, { $0 + $1 }, { $0 &+ $1 })
      guard sum.dtype == .float32 else {
        throw ctx.dtypeError(input: 0, expected: "float32", found: sum.dtype)
      }
      var v = sum.takeFloats()
      for i in v.indices { v[i] /= n }
      return [Tensor(shape: sum.shape, floats: v)]
    }
    table[OpKey("LRN")] = OpDefinition { ctx in [try lrn(&ctx)] }
    table[OpKey("DepthToSpace")] = OpDefinition { ctx in [try depthToSpace(&ctx)] }
    table[OpKey("SpaceToDepth")] = OpDefinition { ctx in [try spaceToDepth(&ctx)] }
  }

  /// LRN over channels (axis 1 of [N, C, …]): y = x / (bias + α/size · Σ x²)^β, the sum over channels
  /// c − ⌊(size−1)/2⌋ … c + ⌈(size−1)/2⌉ clipped to [0, C).
  static func lrn(_ ctx: inout OpContext) throws -> Tensor {
    let x = try ctx.floatInput(0)
    guard x.rank >= 3 else { throw ctx.shapeError(expected: "rank ≥ 3 [N, C, …]", found: "\(x.shape)") }
    guard let size = try ctx.intIfPresent("size"), size >= 1 else { throw ctx.unsupported("size", "missing") }
    let alpha = try ctx.float("alpha", default: 0.0001)
    let beta = try ctx.float("beta", default: 0.75)
    let bias = try ctx.float("bias", default: 1)
    let (n, c) = (x.shape[0], x.shape[1])
    let inner = x.count / Swift.max(n * c, 1)
    let (below, above) = ((size - 1) / 2, size / 2)
    let v = x.floats
    var out = [Float](repeating: 0, count: v.count)
    for b in 0..<n {
      for ch in 0..<c {
        let (lo, hi) = (Swift.max(0, ch - below), Swift.min(c - 1, ch + above))
        for i in 0..<inner {
          var sum: Float = 0
          for k in lo...hi {
            let e = v[(b * c + k) * inner + i]
            sum += e * e
          }
          let index = (b * c + ch) * inner + i
          out[index] = v[index] / powf(bias + alpha / Float(size) * sum, beta)
        }
      }
    }
    return Tensor(shape: x.shape, floats: out)
  }

  /// DepthToSpace [N, C, H, W] → [N, C/b², H·b, W·b]. DCR (default): channel (i·b + j)·C' + c goes to
  /// pixel (h·b + i, w·b + j) of channel c; CRD: channel c·b² + i·b + j.
  static func depthToSpace(_ ctx: inout OpContext) throws -> Tensor {
    let x = try ctx.floatInput(0)
    let b = try ctx.int("blocksize", default: 0)
    let crd = try ctx.string("mode", default: "DCR") == "CRD"
    guard x.rank == 4, b > 0, x.shape[1] % (b * b) == 0 else {
      throw ctx.shapeError(
        expected: "[N, C, H, W] with C divisible by blocksize² (\(b)²)", found: "\(x.shape)")
    }
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let cOut = c / (b * b)
    let v = x.floats
    var out = [Float](repeating: 0, count: v.count)
    var o = 0
    for nb in 0..<n {
      for co in 0..<cOut {
        for y in 0..<h * b {
          for xo in 0..<w * b {
            let (i, j) = (y % b, xo % b)
            let source = crd ? co * b * b + i * b + j : (i * b + j) * cOut + co
            out[o] = v[((nb * c + source) * h + y / b) * w + xo / b]
            o += 1
          }
        }
      }
    }
    return Tensor(shape: [n, cOut, h * b, w * b], floats: out)
  }

  /// SpaceToDepth [N, C, H, W] → [N, C·b², H/b, W/b]: pixel (h·b + i, w·b + j) of channel c goes to
  /// channel (i·b + j)·C + c (the inverse of DepthToSpace DCR).
  static func spaceToDepth(_ ctx: inout OpContext) throws -> Tensor {
    let x = try ctx.floatInput(0)
    let b = try ctx.int("blocksize", default: 0)
    guard x.rank == 4, b > 0, x.shape[2] % b == 0, x.shape[3] % b == 0 else {
      throw ctx.shapeError(
        expected: "[N, C, H, W] with H, W divisible by blocksize \(b)", found: "\(x.shape)")
    }
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (ho, wo) = (h / b, w / b)
    let v = x.floats
    var out = [Float](repeating: 0, count: v.count)
    var o = 0
    for nb in 0..<n {
      for co in 0..<c * b * b {
        let (block, ch) = (co / c, co % c)
        let (i, j) = (block / b, block % b)
        for y in 0..<ho {
          for xo in 0..<wo {
            out[o] = v[((nb * c + ch) * h + y * b + i) * w + xo * b + j]
            o += 1
          }
        }
      }
    }
    return Tensor(shape: [n, c * b * b, ho, wo], floats: out)
  }
}
