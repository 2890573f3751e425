import TensorCore

/// Affine int8 quantization per output channel (as in ONNX QuantizeLinear with axis 0):
///   q = clamp(round(x / scale) + zeroPoint, −128, 127),   x̂ = (q − zeroPoint) · scale.
/// The range [lo, hi] of a channel always includes 0, so zero is exact (q = zeroPoint).
public struct Int8ChannelParameters: Sendable, Equatable {
  public var scale: Float
  public var zeroPoint: Int8

  /// Parameters covering [min(low, 0), max(high, 0)] with 256 levels.
  public init(low: Float, high: Float) {
    let lo = min(low, 0)
    let hi = max(high, 0)
    let s = (hi - lo) / 255
    scale = s > 0 && s.isFinite ? s : 1
    zeroPoint = Int8(clamping: Int((-128 - lo / scale).rounded(.toNearestOrEven)))
  }

  public init(scale: Float, zeroPoint: Int8) {
    self.scale = scale
    self.zeroPoint = zeroPoint
  }

  public func quantize(_ x: Float) -> Int8 {
    let q = (x / scale).rounded(.toNearestOrEven) + Float(zeroPoint)
    return Int8(clamping: Int(max(-128, min(127, q))))
  }
}

/// The plain dequantizer, one element at a time: x̂ = (q − zeroPoint) · scale.
public func dequantizeInt8Reference(_ q: Int8, _ p: Int8ChannelParameters) -> Float {
  Float(Int32(q) - Int32(p.zeroPoint)) * p.scale
}

/// Dequantizes the stored entries of a layer: `symbols` are int8 bit patterns, the channel of an
/// entry is position / channelStride. Walks channels in runs instead of dividing per element.
public func dequantizeInt8(
  symbols: [UInt32], positions: [Int], channelStride: Int, scales: [Float], zeroPoints: [Int8]
) -> [Float] {
  var out = [Float](repeating: 0, count: symbols.count)
  var channel = 0
  var channelEnd = channelStride
  var scale = scales.first ?? 1
  var zero = Float(zeroPoints.first ?? 0)
  for i in 0..<symbols.count {
    while positions[i] >= channelEnd {
      channel += 1
      channelEnd += channelStride
      scale = scales[channel]
      zero = Float(zeroPoints[channel])
    }
    // (q − z) is an exact small integer in Float32, so this equals the reference bit for bit.
    out[i] = (Float(Int8(truncatingIfNeeded: symbols[i])) - zero) * scale
  }
  return out
}

/// int8 per-channel quantization of a layer's surviving values (channel = output channel, axis 0).
public func quantizeInt8(name: String, weight: Tensor, mask: Tensor?) -> QuantizedLayer {
  let (positions, values) = survivingEntries(of: weight, mask: mask)
  let channels = max(weight.shape.first ?? 1, 1)
  let stride = max(weight.count / channels, 1)
  var low = [Float](repeating: 0, count: channels)
  var high = [Float](repeating: 0, count: channels)
  for (p, v) in zip(positions, values) {
    low[p / stride] = min(low[p / stride], v)
    high[p / stride] = max(high[p / stride], v)
  }
  let params = (0..<channels).map { Int8ChannelParameters(low: low[$0], high: high[$0]) }
  let symbols = zip(positions, values).map { p, v in
    UInt32(UInt8(bitPattern: params[p / stride].quantize(v)))
  }
  return QuantizedLayer(
    name: name, shape: weight.shape, kind: LayerKind(shape: weight.shape), positions: positions,
    maskDType: mask?.dtype, scheme: .int8, bits: 8, codebook: params.map(\.scale),
    zeroPoints: params.map(\.zeroPoint), symbols: symbols)
}
