/// Element types PruneKit stores. Float32 is the computing type; the others are storage and I/O
/// formats (ONNX, safetensors). On-disk codes of other formats map onto this enum in their own tables.
public enum DType: String, Sendable, CaseIterable, Codable {
  case float32, float16, bfloat16, float64
  case int64, int32, int16, int8
  case uint8, uint16, uint32, uint64
  case bool

  /// Bytes per element.
  public var byteWidth: Int {
    switch self {
    case .float64, .int64, .uint64: return 8
    case .float32, .int32, .uint32: return 4
    case .float16, .bfloat16, .int16, .uint16: return 2
    case .int8, .uint8, .bool: return 1
    }
  }

  public var isFloatingPoint: Bool {
    switch self {
    case .float32, .float16, .bfloat16, .float64: return true
    default: return false
    }
  }
}
