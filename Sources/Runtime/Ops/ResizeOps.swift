import Foundation
import ModelGraph
import TensorCore

/// Resize (ONNX spec, opsets 10–18): modes nearest and linear, applied separably one axis at a time.
/// Coordinate transforms half_pixel, pytorch_half_pixel, align_corners, asymmetric; nearest modes
/// round_prefer_floor, round_prefer_ceil, floor, ceil. Cubic, tf_crop_and_resize and antialias are
/// refused with `unsupportedAttribute`. Opset 10 (X, scales) uses asymmetric + floor.
enum ResizeOps {
  static func register(into table: inout [OpKey: OpDefinition]) {
    table[OpKey("Resize")] = OpDefinition { ctx in [try resize(ctx)] }
    table[OpKey("Upsample")] = OpDefinition { ctx in [try resize(ctx)] }
  }

  static func resize(_ ctx: OpContext) throws -> Tensor {
    var x = try ctx.floatInput(0)
    let rank = x.rank
    let legacy = ctx.opset < 11 || ctx.node.opType == "Upsample"
    let mode = try ctx.string("mode", default: "nearest")
    guard mode == "nearest" || mode == "linear" || mode == "bilinear" else {
      throw ctx.unsupported("mode", mode)
    }
    let transform =
      legacy ? "asymmetric" : try ctx.string("coordinate_transformation_mode", default: "half_pixel")
    let nearestMode = legacy ? "floor" : try ctx.string("nearest_mode", default: "round_prefer_floor")
    if try ctx.int("antialias", default: 0) != 0 { throw ctx.unsupported("antialias", "1") }
    if try ctx.string("keep_aspect_ratio_policy", default: "stretch") != "stretch" {
      throw ctx.unsupported(
        "keep_aspect_ratio_policy", try ctx.string("keep_aspect_ratio_policy", default: ""))
    }
    let axes = try (ctx.ints("axes") ?? Array(0..<rank)).map { try ctx.axis($0, rank: rank) }
    var scales = [Float](repeating: 1, count: rank)
    var sizes = x.shape
    let scalesInput = legacy ? ctx.optionalInput(1) : ctx.optionalInput(2)
    if let s = scalesInput, s.count > 0 {
      let v = s.asFloats()
      guard v.count == axes.count else {
        throw ctx.shapeError(expected: "\(axes.count) scales", found: "\(v.count)")
      }
      for (i, a) in axes.enumerated() {
        scales[a] = v[i]
        sizes[a] = Int((Float(x.shape[a]) * v[i]).rounded(.down))
      }
    } else if !legacy, let s = ctx.optionalInput(3), s.count > 0 {
      let v = s.asInt64s()
      guard v.count == axes.count else {
        throw ctx.shapeError(expected: "\(axes.count) sizes", found: "\(v.count)")
      }
      for (i, a) in axes.enumerated() {
        sizes[a] = Int(v[i])
        scales[a] = Float(v[i]) / Float(Swift.max(x.shape[a], 1))
      }
    } else {
      throw ctx.shapeError(expected: "scales or sizes", found: "neither")
    }
    for d in 0..<rank where sizes[d] != x.shape[d] || scales[d] != 1 {
      let taps = try (0..<sizes[d]).map { o -> (Int, Int, Float) in
        let n = x.shape[d]
        let scale = scales[d]
        let xo: Float
        switch transform {
        case "half_pixel": xo = (Float(o) + 0.5) / scale - 0.5
        case "pytorch_half_pixel": xo = sizes[d] > 1 ? (Float(o) + 0.5) / scale - 0.5 : 0
        case "align_corners": xo = sizes[d] == 1 ? 0 : Float(o) * Float(n - 1) / Float(sizes[d] - 1)
        case "asymmetric": xo = Float(o) / scale
        default: throw ctx.unsupported("coordinate_transformation_mode", transform)
        }
        if mode == "nearest" {
          let i: Int
          switch nearestMode {
          case "round_prefer_floor":
            i = xo - xo.rounded(.down) == 0.5 ? Int(xo.rounded(.down)) : Int(xo.rounded())
          case "round_prefer_ceil": i = Int(xo.rounded(.toNearestOrAwayFromZero))
          case "floor": i = Int(xo.rounded(.down))
          case "ceil": i = Int(xo.rounded(.up))
          default: throw ctx.unsupported("nearest_mode", nearestMode)
          }
          let c = Swift.min(Swift.max(i, 0), n - 1)
          return (c, c, 0)
        }
        let clamped = Swift.min(Swift.max(xo, 0), Float(n - 1))
        let i0 = Int(clamped.rounded(.down))
        return (i0, Swift.min(i0 + 1, n - 1), clamped - Float(i0))
      }
      x = interpolate(x, axis: d, taps: taps)
    }
    return x
  }

  /// out[…, o, …] = (1 − w)·x[…, i0, …] + w·x[…, i1, …] along `axis`, taps[o] = (i0, i1, w).
  static func interpolate(_ x: Tensor, axis: Int, taps: [(Int, Int, Float)]) -> Tensor {
    let outer = x.shape[..<axis].reduce(1, *)
    let inner = x.shape[(axis + 1)...].reduce(1, *)
    let n = x.shape[axis]
    let v = x.floats
    var out = [Float](repeating: 0, count: outer * taps.count * inner)
    for o in 0..<outer {
      for (t, (i0, i1, w)) in taps.enumerated() {
        let a = (o * n + i0) * inner
        let b = (o * n + i1) * inner
        let dst = (o * taps.count + t) * inner
        for k in 0..<inner { out[dst + k] = (1 - w) * v[a + k] + w * v[b + k] }
      }
    }
    var shape = x.shape
    shape[axis] = taps.count
    return Tensor(shape: shape, floats: out)
  }
}
