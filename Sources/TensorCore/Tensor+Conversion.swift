/// Conversions between storage types. float16/bfloat16 decode exactly to Float32; Float32 → float16
/// rounds to nearest even (Swift's `Float16(_:)`), Float32 → bfloat16 rounds to nearest even.
extension Tensor {
  /// The elements as Float32, whatever the dtype.
  public func asFloats() -> [Float] {
    switch storage {
    case .float32(let values): return values
    case .int64(let values): return values.map { Float($0) }
    case .bytes(let dtype, let bytes): return Tensor.decodeFloats(dtype, bytes)
    }
  }

  /// `value` truncated toward zero; NaN is 0 and values beyond the Int64 range saturate (ONNX leaves
  /// those undefined; converting must never trap).
  @inline(__always)
  public static func truncatedInt64(_ value: Float) -> Int64 {
    if value.isNaN { return 0 }
    if value >= 9.223372e18 { return .max }
    if value <= -9.223372e18 { return .min }
    return Int64(value)
  }

  /// The elements as Int64, truncating floats toward zero (ONNX Cast semantics, see `truncatedInt64`).
  public func asInt64s() -> [Int64] {
    switch storage {
    case .int64(let values): return values
    case .float32(let values): return values.map(Tensor.truncatedInt64)
    case .bytes(let dtype, let bytes):
      return Tensor.decodeIntegers(dtype, bytes) ?? Tensor.decodeFloats(dtype, bytes).map(Tensor.truncatedInt64)
    }
  }

  /// A copy converted to `dtype`.
  public func converted(to target: DType) -> Tensor {
    if target == dtype { return self }
    switch target {
    case .float32: return Tensor(shape: shape, floats: asFloats())
    case .int64: return Tensor(shape: shape, int64s: asInt64s())
    default:
      var copy = self
      copy.storage = .bytes(target, Tensor.encode(target, floats: asFloats(), ints: asInt64sIfIntegral()))
      return copy
    }
  }

  private func asInt64sIfIntegral() -> [Int64]? {
    dtype.isFloatingPoint ? nil : asInt64s()
  }

  static func decodeIntegers(_ dtype: DType, _ bytes: [UInt8]) -> [Int64]? {
    bytes.withUnsafeBytes { raw -> [Int64]? in
      switch dtype {
      case .int64: return raw.bindMemory(to: Int64.self).map { $0 }
      case .int32: return raw.bindMemory(to: Int32.self).map { Int64($0) }
      case .int16: return raw.bindMemory(to: Int16.self).map { Int64($0) }
      case .int8: return raw.bindMemory(to: Int8.self).map { Int64($0) }
      case .uint8, .bool: return raw.bindMemory(to: UInt8.self).map { Int64($0) }
      case .uint16: return raw.bindMemory(to: UInt16.self).map { Int64($0) }
      case .uint32: return raw.bindMemory(to: UInt32.self).map { Int64($0) }
      case .uint64: return raw.bindMemory(to: UInt64.self).map { Int64(bitPattern: $0) }
      default: return nil
      }
    }
  }

  static func decodeFloats(_ dtype: DType, _ bytes: [UInt8]) -> [Float] {
    if let ints = decodeIntegers(dtype, bytes) { return ints.map { Float($0) } }
    return bytes.withUnsafeBytes { raw -> [Float] in
      switch dtype {
      case .float32: return Array(raw.bindMemory(to: Float.self))
      case .float64: return raw.bindMemory(to: Double.self).map { Float($0) }
      case .float16: return raw.bindMemory(to: UInt16.self).map { Float(Float16(bitPattern: $0)) }
      case .bfloat16: return raw.bindMemory(to: UInt16.self).map { Float(bitPattern: UInt32($0) << 16) }
      default: preconditionFailure("decodeFloats: unhandled dtype \(dtype)")
      }
    }
  }

  static func encode(_ dtype: DType, floats: [Float], ints: [Int64]?) -> [UInt8] {
    func bytes<T>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }
    // Integer targets only: a float target must not touch (and trap on) the integer view.
    var i: [Int64] { ints ?? floats.map(truncatedInt64) }
    switch dtype {
    case .float32: return bytes(floats)
    case .float64: return bytes(floats.map { Double($0) })
    case .float16: return bytes(floats.map { Float16($0).bitPattern })
    case .bfloat16: return bytes(floats.map { bfloat16Bits($0) })
    case .int64: return bytes(i)
    case .int32: return bytes(i.map { Int32(truncatingIfNeeded: $0) })
    case .int16: return bytes(i.map { Int16(truncatingIfNeeded: $0) })
    case .int8: return bytes(i.map { Int8(truncatingIfNeeded: $0) })
    case .uint8: return bytes(i.map { UInt8(truncatingIfNeeded: $0) })
    case .bool: return bytes(i.map { $0 != 0 ? UInt8(1) : UInt8(0) })
    case .uint16: return bytes(i.map { UInt16(truncatingIfNeeded: $0) })
    case .uint32: return bytes(i.map { UInt32(truncatingIfNeeded: $0) })
    case .uint64: return bytes(i.map { UInt64(bitPattern: $0) })
    }
  }

  /// Float32 → bfloat16 bits, round to nearest even; NaN stays NaN.
  public static func bfloat16Bits(_ value: Float) -> UInt16 {
    let bits = value.bitPattern
    if value.isNaN { return UInt16(bits >> 16) | 0x40 }
    let rounding = UInt32(0x7FFF) + ((bits >> 16) & 1)
    return UInt16((bits &+ rounding) >> 16)
  }
}
