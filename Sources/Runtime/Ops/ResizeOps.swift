import Foundation
import ModelGraph
import TensorCore

/// Resize (ONNX spec, opsets 10–18): modes nearest and linear, applied separably one axis at a time.
/// Coordinate transforms half_pixel, pytorch_half_pixel, align_corners, asymmetric; nearest modes
/// round_prefer_floor, round_prefer_ceil, floor, ceil. Cubic, tf_crop_and_resize and antialias are
/// refused with `unsupportedAttribute`. Opset 10 (X, scales) uses asymmetric + floor.
///
/// The geometry (`plan`: which axes change and, per output position, the two source taps and the
/// weight of the second) is computed once and read by the forward (`interpolate`) and by the
/// backward rule (`interpolateAdjoint`, `ResizeBackward`), so the index arithmetic exists once.
enum ResizeOps {
  static func register(into table: inout [OpKey: OpDefinition]) {
    table[OpKey("Resize")] = OpDefinition { ctx in [try resize(ctx)] }
    table[OpKey("Upsample")] = OpDefinition { ctx in [try resize(ctx)] }
  }

  static func resize(_ ctx: OpContext) throws -> Tensor {
    var x = try ctx.floatInput(0)
    for step in try plan(ctx, shape: x.shape) { x = interpolate(x, axis: step.axis, taps: step.taps) }
    return x
  }

  /// One resized axis: taps[o] = (i0, i1, w), out[o] = (1 − w)·x[i0] + w·x[i1].
  struct AxisStep {
    var axis: Int
    var taps: [ResizeTap]
  }

  /// The axes of `shape` the node resizes, in the order the forward applies them.
  static func plan(_ ctx: OpContext, shape: [Int]) throws -> [AxisStep] {
    let rank = shape.count
    let legacy = ctx.opset < 11 || ctx.node.opType == "Upsample"
    let mode = try ctx.string("mode", default: "nearest")
    guard let kind = ResizeTap.Mode(onnx: mode) else { throw ctx.unsupported("mode", mode) }
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
    var sizes = shape
    let scalesInput = legacy ? ctx.optionalInput(1) : ctx.optionalInput(2)
    if let s = scalesInput, s.count > 0 {
      let v = s.asFloats()
      guard v.count == axes.count else {
        throw ctx.shapeError(expected: "\(axes.count) scales", found: "\(v.count)")
      }
      for (i, a) in axes.enumerated() {
        scales[a] = v[i]
        sizes[a] = Int((Float(shape[a]) * v[i]).rounded(.down))
      }
    } else if !legacy, let s = ctx.optionalInput(3), s.count > 0 {
      let v = s.asInt64s()
      guard v.count == axes.count else {
        throw ctx.shapeError(expected: "\(axes.count) sizes", found: "\(v.count)")
      }
      for (i, a) in axes.enumerated() {
        sizes[a] = Int(v[i])
        scales[a] = Float(v[i]) / Float(Swift.max(shape[a], 1))
      }
    } else {
      throw ctx.shapeError(expected: "scales or sizes", found: "neither")
    }
    var steps: [AxisStep] = []
    for d in 0..<rank where sizes[d] != shape[d] || scales[d] != 1 {
      guard
        let taps = ResizeTap.taps(
          input: shape[d], output: sizes[d], scale: scales[d], transform: transform, mode: kind,
          nearestMode: nearestMode)
      else {
        let bad = ResizeTap.transforms.contains(transform) ? ("nearest_mode", nearestMode)
          : ("coordinate_transformation_mode", transform)
        throw ctx.unsupported(bad.0, bad.1)
      }
      steps.append(AxisStep(axis: d, taps: taps))
    }
    return steps
  }

  /// out[…, o, …] = (1 − w)·x[…, i0, …] + w·x[…, i1, …] along `axis`, taps[o] = (i0, i1, w).
  static func interpolate(_ x: Tensor, axis: Int, taps: [ResizeTap]) -> Tensor {
    let outer = x.shape[..<axis].reduce(1, *)
    let inner = x.shape[(axis + 1)...].reduce(1, *)
    let n = x.shape[axis]
    let v = x.floats
    var out = [Float](repeating: 0, count: outer * taps.count * inner)
    for o in 0..<outer {
      for (t, tap) in taps.enumerated() {
        let a = (o * n + tap.i0) * inner
        let b = (o * n + tap.i1) * inner
        let dst = (o * taps.count + t) * inner
        for k in 0..<inner { out[dst + k] = (1 - tap.w) * v[a + k] + tap.w * v[b + k] }
      }
    }
    var shape = x.shape
    shape[axis] = taps.count
    return Tensor(shape: shape, floats: out)
  }

  /// The adjoint of `interpolate` (its transpose): each output gradient dy[…, o, …] is added to
  /// dx[…, i0, …] with weight 1 − w and to dx[…, i1, …] with weight w; `length` = the input's extent.
  static func interpolateAdjoint(_ dy: Tensor, axis: Int, taps: [ResizeTap], length n: Int) -> Tensor {
    precondition(dy.shape[axis] == taps.count, "Resize adjoint: \(dy.shape) has not \(taps.count) along \(axis)")
    let outer = dy.shape[..<axis].reduce(1, *)
    let inner = dy.shape[(axis + 1)...].reduce(1, *)
    let g = dy.floats
    var dx = [Float](repeating: 0, count: outer * n * inner)
    for o in 0..<outer {
      for (t, tap) in taps.enumerated() {
        let a = (o * n + tap.i0) * inner
        let b = (o * n + tap.i1) * inner
        let src = (o * taps.count + t) * inner
        for k in 0..<inner {
          dx[a + k] += (1 - tap.w) * g[src + k]
          dx[b + k] += tap.w * g[src + k]
        }
      }
    }
    var shape = dy.shape
    shape[axis] = n
    return Tensor(shape: shape, floats: dx)
  }
}

/// One output position of a resized axis: out = (1 − w)·x[i0] + w·x[i1] (nearest: i0 = i1, w = 0).
public struct ResizeTap: Sendable, Equatable {
  public var i0: Int
  public var i1: Int
  public var w: Float

  public enum Mode: Sendable {
    case nearest, linear
    init?(onnx: String) {
      switch onnx {
      case "nearest": self = .nearest
      case "linear", "bilinear": self = .linear
      default: return nil
      }
    }
  }

  static let transforms: Set<String> = ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"]

  /// The taps of `output` positions over `input` ones (ONNX Resize's coordinate transformation);
  /// nil for a transform or nearest mode this does not know.
  public static func taps(
    input n: Int, output: Int, scale: Float, transform: String = "half_pixel", mode: Mode,
    nearestMode: String = "round_prefer_floor"
  ) -> [ResizeTap]? {
    var taps: [ResizeTap] = []
    taps.reserveCapacity(output)
    for o in 0..<output {
      let xo: Float
      switch transform {
      case "half_pixel": xo = (Float(o) + 0.5) / scale - 0.5
      case "pytorch_half_pixel": xo = output > 1 ? (Float(o) + 0.5) / scale - 0.5 : 0
      case "align_corners": xo = output == 1 ? 0 : Float(o) * Float(n - 1) / Float(output - 1)
      case "asymmetric": xo = Float(o) / scale
      default: return nil
      }
      if mode == .nearest {
        let i: Int
        switch nearestMode {
        case "round_prefer_floor": i = xo - xo.rounded(.down) == 0.5 ? Int(xo.rounded(.down)) : Int(xo.rounded())
        case "round_prefer_ceil": i = Int(xo.rounded(.toNearestOrAwayFromZero))
        case "floor": i = Int(xo.rounded(.down))
        case "ceil": i = Int(xo.rounded(.up))
        default: return nil
        }
        let c = Swift.min(Swift.max(i, 0), n - 1)
        taps.append(ResizeTap(i0: c, i1: c, w: 0))
      } else {
        let clamped = Swift.min(Swift.max(xo, 0), Float(n - 1))
        let i0 = Int(clamped.rounded(.down))
        taps.append(ResizeTap(i0: i0, i1: Swift.min(i0 + 1, n - 1), w: clamped - Float(i0)))
      }
    }
    return taps
  }
}

extension Tensor {
  /// Bilinear resize of the last two axes of [N, C, H, W] to height × width, with ONNX Resize's
  /// half_pixel coordinates (PyTorch `interpolate(mode="bilinear", align_corners=False)`, no
  /// antialias): the executor's own Resize geometry and kernel.
  public func resizedBilinear(height: Int, width: Int) -> Tensor {
    precondition(rank >= 2 && height > 0 && width > 0, "resizedBilinear: \(shape) to \(height)×\(width)")
    var x = self
    for (axis, size) in [(rank - 2, height), (rank - 1, width)] where size != shape[axis] {
      let taps = ResizeTap.taps(
        input: shape[axis], output: size, scale: Float(size) / Float(shape[axis]), mode: .linear)!
      x = ResizeOps.interpolate(x, axis: axis, taps: taps)
    }
    return x
  }
}
