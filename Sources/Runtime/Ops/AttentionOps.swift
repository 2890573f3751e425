import Foundation
import ModelGraph
import TensorCore

/// Ops of opsets 23–24 that PyTorch's exporter emits at those opsets (ONNX operator spec):
/// Attention (scaled dot-product attention, the ONNX reference `op_attention.py` semantics),
/// RMSNormalization and Swish.
enum OpsetTwentyThreeOps {
  static func register(into table: inout [OpKey: OpDefinition]) {
    table[OpKey("Attention")] = OpDefinition(opsets: 23...28) { ctx in try attention(&ctx) }
    table[OpKey("RMSNormalization")] = OpDefinition(opsets: 23...28) { ctx in [try rmsNorm(&ctx)] }
    table[OpKey("Swish")] = OpDefinition(opsets: 24...28) { ctx in
      let alpha = try ctx.float("alpha", default: 1)
      return [try ElementwiseOps.unary(&ctx, { $0 / (1 + expf(-alpha * $0)) })]
    }
  }

  /// [B, S, H·D] → [B, H, S, D] (3-D inputs with the head count from an attribute).
  static func splitHeads(_ t: Tensor, heads: Int, ctx: OpContext) throws -> Tensor {
    guard t.rank == 3, heads > 0, t.shape[2] % heads == 0 else {
      throw ctx.shapeError(
        expected: "[B, S, hidden] with hidden divisible by \(heads) heads", found: "\(t.shape)")
    }
    let (b, s, d) = (t.shape[0], t.shape[1], t.shape[2] / heads)
    let offsets = Indexing.offsets(shape: [b, heads, s, d], strides: [s * heads * d, d, heads * d, 1])
    return t.gathering(offsets: offsets, shape: [b, heads, s, d])
  }

  /// Attention(Q, K, V, attn_mask?, past_key?, past_value?): softmax(scale·Q·Kᵀ + bias)·V per head, with
  /// a boolean (true = attend) or additive mask broadcast to [B, Hq, Sq, Skv] (a shorter last axis is
  /// padded as masked), bottom-right causal masking (key j ≤ query i + past length), softcap, and
  /// grouped KV heads (query head h reads KV head h / (Hq / Hkv)). Fully masked rows give zeros.
  /// Outputs Y, present_key, present_value; qk_matmul_output and nonpad_kv_seqlen are not supported.
  static func attention(_ ctx: inout OpContext) throws -> [Tensor] {
    var (q, k, v) = try (ctx.floatInput(0), ctx.floatInput(1), ctx.floatInput(2))
    if ctx.node.outputs.count > 3, !ctx.node.outputs[3].isEmpty {
      throw ctx.unsupported("qk_matmul_output", "requested")
    }
    if ctx.optionalInput(6) != nil { throw ctx.unsupported("nonpad_kv_seqlen", "given") }
    for window in ["left_window_size", "right_window_size"] where try ctx.int(window, default: -1) >= 0 {
      throw ctx.unsupported(window, "a sliding window")
    }
    let threeD = q.rank == 3
    if threeD {
      guard let qh = try ctx.intIfPresent("q_num_heads"), let kvh = try ctx.intIfPresent("kv_num_heads")
      else {
        throw ctx.unsupported("q_num_heads/kv_num_heads", "missing for 3-D inputs")
      }
      (q, k, v) = try (
        splitHeads(q, heads: qh, ctx: ctx), splitHeads(k, heads: kvh, ctx: ctx),
        splitHeads(v, heads: kvh, ctx: ctx)
      )
    }
    guard q.rank == 4, k.rank == 4, v.rank == 4 else {
      throw ctx.shapeError(expected: "Q, K, V of rank 3 or 4", found: "\(q.shape), \(k.shape), \(v.shape)")
    }
    if let past = ctx.optionalInput(4), let pastV = ctx.optionalInput(5) {
      guard past.rank == 4, pastV.rank == 4, past.shape[0] == k.shape[0], past.shape[1] == k.shape[1],
        past.shape[3] == k.shape[3], pastV.shape[0] == v.shape[0], pastV.shape[1] == v.shape[1],
        pastV.shape[3] == v.shape[3], past.shape[2] == pastV.shape[2], past.dtype == .float32,
        pastV.dtype == .float32
      else {
        throw ctx.shapeError(
          expected: "past_key/past_value [B, Hkv, P, D] matching K/V", found: "\(past.shape), \(pastV.shape)")
      }
      (k, v) = try (TensorCore.concat([past, k], axis: 2), TensorCore.concat([pastV, v], axis: 2))
    }
    let past = ctx.optionalInput(4)?.shape[2] ?? 0
    let (b, hq, sq, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
    let (hkv, skv, dv) = (k.shape[1], k.shape[2], v.shape[3])
    guard k.shape[0] == b, v.shape[0] == b, k.shape[3] == d, v.shape[1] == hkv, v.shape[2] == skv,
      hkv > 0, hq % hkv == 0
    else {
      throw ctx.shapeError(
        expected: "matching Q/K/V batch, head size and KV heads dividing Q heads",
        found: "\(q.shape), \(k.shape), \(v.shape)")
    }
    let scale = try ctx.floatIfPresent("scale") ?? 1 / Float(d).squareRoot()
    let softcap = try ctx.float("softcap", default: 0)
    let causal = try ctx.int("is_causal", default: 0) != 0
    // Additive bias [B, Hq, Sq, Skv] from the mask (broadcast, last axis padded as masked).
    var bias: [Float]? = nil
    if let mask = ctx.optionalInput(3) {
      let isBool = mask.dtype == .bool
      let values: [Float] = isBool ? mask.bools.map { $0 ? 0 : -.infinity } : mask.asFloats()
      var shape = mask.shape
      let width = shape.last ?? 1
      guard width <= skv else {
        throw ctx.shapeError(expected: "mask last axis ≤ \(skv)", found: "\(mask.shape)")
      }
      shape[shape.count - 1] = skv
      var padded = [Float](repeating: -.infinity, count: Tensor.elementCount(shape))
      for row in 0..<values.count / Swift.max(width, 1) {
        for j in 0..<width { padded[row * skv + j] = values[row * width + j] }
      }
      let target = [b, hq, sq, skv]
      guard Indexing.broadcast(shape, target) == target else {
        throw ctx.shapeError(expected: "a mask broadcastable to \(target)", found: "\(mask.shape)")
      }
      let offsets = Indexing.offsets(shape: target, strides: Indexing.broadcastStrides(shape, to: target))
      bias = offsets.map { padded[$0] }
    }
    let (qv, kv, vv) = (q.floats, k.floats, v.floats)
    var y = [Float](repeating: 0, count: b * hq * sq * dv)
    var scores = [Float](repeating: 0, count: skv)
    for n in 0..<b {
      for h in 0..<hq {
        let g = h / (hq / hkv)
        let kBase = (n * hkv + g) * skv
        for i in 0..<sq {
          let qRow = ((n * hq + h) * sq + i) * d
          var best = -Float.infinity
          for j in 0..<skv {
            var dot: Float = 0
            let kRow = (kBase + j) * d
            for e in 0..<d { dot += qv[qRow + e] * kv[kRow + e] }
            var s = dot * scale
            if softcap > 0 { s = softcap * tanhf(s / softcap) }
            if let bias { s += bias[((n * hq + h) * sq + i) * skv + j] }
            if causal, j > i + past { s = -.infinity }
            scores[j] = s
            best = Swift.max(best, s)
          }
          guard best > -.infinity else { continue }  // fully masked: zeros
          var sum: Float = 0
          for j in 0..<skv {
            scores[j] = expf(scores[j] - best)
            sum += scores[j]
          }
          let yRow = ((n * hq + h) * sq + i) * dv
          for j in 0..<skv where scores[j] != 0 {
            let p = scores[j] / sum
            let vRow = (kBase + j) * dv
            for e in 0..<dv { y[yRow + e] += p * vv[vRow + e] }
          }
        }
      }
    }
    var out = Tensor(shape: [b, hq, sq, dv], floats: y)
    if threeD {  // [B, H, S, Dv] → [B, S, H·Dv]
      let offsets = Indexing.offsets(shape: [b, sq, hq, dv], strides: [hq * sq * dv, dv, sq * dv, 1])
      out = out.gathering(offsets: offsets, shape: [b, sq, hq * dv])
    }
    return [out, k, v]
  }

  /// RMSNormalization: Y = X / √(mean(X²) + ε) · scale, the mean over axes `axis`… (default −1).
  static func rmsNorm(_ ctx: inout OpContext) throws -> Tensor {
    let x = try ctx.floatInput(0)
    let scale = try ctx.floatInput(1)
    let axis = try ctx.axis(try ctx.int("axis", default: -1), rank: x.rank)
    let epsilon = try ctx.float("epsilon", default: 1e-5)
    let inner = x.shape[axis...].reduce(1, *)
    let normalised = Array(x.shape[axis...])
    guard inner > 0, Indexing.broadcast(normalised, scale.shape) == normalised else {
      throw ctx.shapeError(expected: "scale broadcastable to \(normalised)", found: "\(scale.shape)")
    }
    let s = try NormOps.expand(scale, to: normalised, ctx)
    var v = x.floats
    for row in 0..<v.count / inner {
      var sum: Float = 0
      for j in 0..<inner { sum += v[row * inner + j] * v[row * inner + j] }
      let r = 1 / (sum / Float(inner) + epsilon).squareRoot()
      for j in 0..<inner { v[row * inner + j] *= r * s[j] }
    }
    return Tensor(shape: x.shape, floats: v)
  }
}
