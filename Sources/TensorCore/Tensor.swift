/// An n-dimensional array with contiguous row-major storage.
///
/// Float32 is the computing type (`floats`); Int64 holds indices and shapes (`int64s`); every other
/// dtype is kept as little-endian bytes (`.bytes`) for I/O and converted on demand.
public struct Tensor: Sendable, Equatable {
  public enum Storage: Sendable, Equatable {
    case float32([Float])
    case int64([Int64])
    /// Little-endian raw elements of `dtype` (float16, bfloat16, int8, uint8, bool, …).
    case bytes(DType, [UInt8])
  }

  public var shape: [Int]
  public var storage: Storage

  public var dtype: DType {
    switch storage {
    case .float32: return .float32
    case .int64: return .int64
    case .bytes(let dtype, _): return dtype
    }
  }

  public var rank: Int { shape.count }
  public var count: Int { Tensor.elementCount(shape) }

  public static func elementCount(_ shape: [Int]) -> Int { shape.reduce(1, *) }

  /// Float32 tensor; `precondition` on a count that does not match the shape.
  public init(shape: [Int], floats: [Float]) {
    precondition(
      floats.count == Tensor.elementCount(shape),
      "Tensor(shape: \(shape)) needs \(Tensor.elementCount(shape)) floats, got \(floats.count)")
    self.shape = shape
    self.storage = .float32(floats)
  }

  public init(shape: [Int], int64s: [Int64]) {
    precondition(
      int64s.count == Tensor.elementCount(shape),
      "Tensor(shape: \(shape)) needs \(Tensor.elementCount(shape)) int64s, got \(int64s.count)")
    self.shape = shape
    self.storage = .int64(int64s)
  }

  /// Raw little-endian storage of any dtype. float32/int64 bytes are decoded into their typed storage.
  public init(shape: [Int], dtype: DType, bytes: [UInt8]) throws {
    let expected = Tensor.elementCount(shape) * dtype.byteWidth
    guard bytes.count == expected else {
      throw TensorError.elementCount(shape: shape, expected: expected, found: bytes.count)
    }
    self.shape = shape
    switch dtype {
    case .float32:
      self.storage = .float32(bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) })
    case .int64:
      self.storage = .int64(bytes.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) })
    default:
      self.storage = .bytes(dtype, bytes)
    }
  }

  public static func zeros(_ shape: [Int]) -> Tensor {
    Tensor(shape: shape, floats: [Float](repeating: 0, count: elementCount(shape)))
  }

  public static func filled(_ shape: [Int], with value: Float) -> Tensor {
    Tensor(shape: shape, floats: [Float](repeating: value, count: elementCount(shape)))
  }

  public static func scalar(_ value: Float) -> Tensor { Tensor(shape: [], floats: [value]) }

  /// The Float32 elements; `precondition` if the storage is not float32 (use `converted(to:)`).
  public var floats: [Float] {
    get {
      guard case .float32(let values) = storage else {
        preconditionFailure("Tensor.floats on a \(dtype.rawValue) tensor of shape \(shape)")
      }
      return values
    }
    set {
      precondition(newValue.count == count, "Tensor.floats: \(newValue.count) values for shape \(shape)")
      storage = .float32(newValue)
    }
  }

  /// The Int64 elements; `precondition` if the storage is not int64.
  public var int64s: [Int64] {
    guard case .int64(let values) = storage else {
      preconditionFailure("Tensor.int64s on a \(dtype.rawValue) tensor of shape \(shape)")
    }
    return values
  }

  /// Little-endian bytes of the elements, whatever the storage.
  public var rawBytes: [UInt8] {
    switch storage {
    case .float32(let values): return values.withUnsafeBytes { Array($0) }
    case .int64(let values): return values.withUnsafeBytes { Array($0) }
    case .bytes(_, let bytes): return bytes
    }
  }

  /// Same data, new shape (element count must match).
  public func reshaped(_ newShape: [Int]) throws -> Tensor {
    guard Tensor.elementCount(newShape) == count else {
      throw TensorError.shapeMismatch(
        operation: "reshape", expected: "\(count) elements", found: "\(newShape)")
    }
    var copy = self
    copy.shape = newShape
    return copy
  }

  /// Row-major strides of `shape`, in elements.
  public static func strides(of shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var running = 1
    for axis in stride(from: shape.count - 1, through: 0, by: -1) {
      strides[axis] = running
      running *= shape[axis]
    }
    return strides
  }
}
