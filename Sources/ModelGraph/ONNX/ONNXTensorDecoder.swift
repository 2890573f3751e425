import Foundation
import TensorCore

/// Decodes ONNX `TensorProto`s (initializers, Constant values, tensor attributes) into `Tensor`s.
///
/// Data may come from `raw_data` (little-endian elements), from the typed repeated fields
/// (see `ONNXDataType`), or from an external file (`data_location = EXTERNAL`, keys `location`,
/// `offset`, `length`; onnx.proto "External data"), resolved relative to the model file's folder.
/// Every size is checked: dims ≥ 0, element count without overflow, byte counts = count × width.
final class ONNXTensorDecoder {
  /// The model file, for error messages.
  let file: String
  /// Folder that external-data locations are relative to; nil when decoding from memory.
  let baseDirectory: String?
  /// External data files already mapped, by resolved path.
  private var externalFiles: [String: Data] = [:]

  init(file: String, baseDirectory: String?) {
    self.file = file
    self.baseDirectory = baseDirectory
  }

  private func malformed(_ at: String, expected: String, found: String) -> ModelGraphError {
    .malformed(file: file, at: at, expected: expected, found: found)
  }

  /// Decodes `proto`; `what` names it in errors ("initializer 'fc1.weight'").
  func decode(_ proto: Onnx_TensorProto, what: String) throws -> Tensor {
    let shape = try checkedShape(proto.dims, what: what)
    let count = try checkedCount(shape, what: what)
    guard let dtype = ONNXDataType.dtype(code: proto.dataType) else {
      throw malformed(
        "\(what) data_type", expected: "one of \(ONNXDataType.supportedList)",
        found: ONNXDataType.describe(code: proto.dataType))
    }
    let (byteCount, overflow) = count.multipliedReportingOverflow(by: dtype.byteWidth)
    guard !overflow else {
      throw malformed("\(what) dims", expected: "a size that fits in memory", found: "\(shape)")
    }
    let bytes: [UInt8]
    if proto.hasDataLocation && proto.dataLocation == .external {
      bytes = try externalBytes(proto, what: what, byteCount: byteCount)
    } else if proto.hasRawData {
      guard proto.rawData.count == byteCount else {
        throw malformed(
          "\(what) raw_data", expected: "\(byteCount) bytes (shape \(shape) × \(dtype.byteWidth) bytes)",
          found: "\(proto.rawData.count) bytes")
      }
      bytes = [UInt8](proto.rawData)
    } else {
      bytes = try typedBytes(proto, dtype: dtype, count: count, what: what)
    }
    return try Tensor(shape: shape, dtype: dtype, bytes: bytes)
  }

  func checkedShape(_ dims: [Int64], what: String) throws -> [Int] {
    // Upper bound 2^40: larger is certainly corrupt, and keeps later products from overflowing early.
    for (axis, dim) in dims.enumerated() where dim < 0 || dim > 1 << 40 {
      throw malformed("\(what) dims[\(axis)]", expected: "a dimension in 0...2^40", found: "\(dim)")
    }
    return dims.map { Int($0) }
  }

  private func checkedCount(_ shape: [Int], what: String) throws -> Int {
    var count = 1
    for dim in shape {
      let (product, overflow) = count.multipliedReportingOverflow(by: dim)
      guard !overflow else {
        throw malformed("\(what) dims", expected: "an element count that fits in Int", found: "\(shape)")
      }
      count = product
    }
    return count
  }

  /// Elements from the typed repeated field that `dtype` uses, as little-endian bytes.
  private func typedBytes(_ proto: Onnx_TensorProto, dtype: DType, count: Int, what: String) throws
    -> [UInt8]
  {
    func checked<T>(_ values: [T], _ field: String) throws -> [T] {
      guard values.count == count else {
        throw malformed(
          "\(what) \(field)", expected: "\(count) elements (shape \(proto.dims))",
          found: "\(values.count)")
      }
      return values
    }
    func bytes<T>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }
    switch ONNXDataType.typedField(of: dtype) {
    case .floatData: return bytes(try checked(proto.floatData, "float_data"))
    case .int64Data: return bytes(try checked(proto.int64Data, "int64_data"))
    case .doubleData: return bytes(try checked(proto.doubleData, "double_data"))
    case .uint64Data:
      let values = try checked(proto.uint64Data, "uint64_data")
      if dtype == .uint32 {
        for value in values where value > UInt64(UInt32.max) {
          throw malformed("\(what) uint64_data", expected: "values ≤ \(UInt32.max)", found: "\(value)")
        }
        return bytes(values.map { UInt32($0) })
      }
      return bytes(values)
    case .int32Data:
      let values = try checked(proto.int32Data, "int32_data")
      switch dtype {
      case .int32: return bytes(values)
      // float16/bfloat16: the 16-bit pattern sits in the low bits (onnx.proto, int32_data).
      case .int16, .uint16, .float16, .bfloat16:
        return bytes(values.map { UInt16(truncatingIfNeeded: $0) })
      default: return values.map { UInt8(truncatingIfNeeded: $0) }  // int8, uint8, bool
      }
    }
  }

  /// Bytes of an external-data tensor; the location must stay inside the model's folder.
  private func externalBytes(_ proto: Onnx_TensorProto, what: String, byteCount: Int) throws -> [UInt8] {
    var entries: [String: String] = [:]
    for entry in proto.externalData { entries[entry.key] = entry.value }
    guard let location = entries["location"], !location.isEmpty else {
      throw malformed(
        "\(what) external_data", expected: "a 'location' key", found: "\(entries.keys.sorted())")
    }
    guard !location.hasPrefix("/"), !location.split(separator: "/").contains("..") else {
      throw malformed(
        "\(what) external_data location", expected: "a path relative to the model's folder",
        found: location)
    }
    guard let base = baseDirectory else {
      throw malformed(
        "\(what) external_data", expected: "a model loaded from a file", found: "in-memory bytes")
    }
    let path = (base as NSString).appendingPathComponent(location)
    let data = try mappedFile(path, what: what)
    let offset = try externalInteger(entries["offset"], key: "offset", what: what) ?? 0
    let length = try externalInteger(entries["length"], key: "length", what: what) ?? (data.count - offset)
    guard length == byteCount else {
      throw malformed("\(what) external_data length", expected: "\(byteCount) bytes", found: "\(length)")
    }
    guard offset <= data.count, length <= data.count - offset else {
      throw malformed(
        "\(what) external_data in \(path)", expected: "offset + length ≤ file size \(data.count)",
        found: "offset \(offset) + length \(length)")
    }
    return [UInt8](data[data.startIndex + offset..<data.startIndex + offset + length])
  }

  private func externalInteger(_ text: String?, key: String, what: String) throws -> Int? {
    guard let text else { return nil }
    guard let value = Int(text), value >= 0 else {
      throw malformed("\(what) external_data \(key)", expected: "an integer ≥ 0", found: text)
    }
    return value
  }

  private func mappedFile(_ path: String, what: String) throws -> Data {
    if let data = externalFiles[path] { return data }
    guard FileManager.default.fileExists(atPath: path) else {
      throw malformed("\(what) external_data", expected: "the file \(path)", found: "no such file")
    }
    do {
      let data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
      externalFiles[path] = data
      return data
    } catch {
      throw ModelGraphError.unreadable(path: path, reason: "\(error) (external data of \(what) in \(file))")
    }
  }
}
