import TensorCore

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Writes safetensors files the way the reference implementation (huggingface/safetensors) does, so
/// that the same tensors give the same bytes: `__metadata__` first with sorted keys, tensors ordered
/// by dtype (widest first, the reference `Dtype` order) then by name, packed without gaps, compact
/// JSON, the header right-padded with spaces to a multiple of 8 bytes. The file is written to a
/// temporary name beside the target and renamed into place (atomic on POSIX file systems).
public enum SafeTensorsWriter {
  /// The header JSON (padded) and the tensors in data order.
  public static func layout(
    tensors: [String: Tensor], metadata: [String: String] = [:]
  ) -> (header: [UInt8], order: [String]) {
    let order = tensors.keys.sorted { a, b in
      let ra = SafeTensorsDTypeCode.lookup(dtype: tensors[a]!.dtype).rank
      let rb = SafeTensorsDTypeCode.lookup(dtype: tensors[b]!.dtype).rank
      return ra != rb ? ra > rb : a < b
    }
    var parts: [String] = []
    if !metadata.isEmpty {
      let items = metadata.keys.sorted().map { "\(JSONTree.quoted($0)):\(JSONTree.quoted(metadata[$0]!))" }
      parts.append("\"__metadata__\":{\(items.joined(separator: ","))}")
    }
    var offset = 0
    for name in order {
      let t = tensors[name]!
      let code = SafeTensorsDTypeCode.lookup(dtype: t.dtype)
      let size = t.count * code.byteWidth
      let shape = t.shape.map(String.init).joined(separator: ",")
      parts.append(
        "\(JSONTree.quoted(name)):{\"dtype\":\"\(code.code)\",\"shape\":[\(shape)],"
          + "\"data_offsets\":[\(offset),\(offset + size)]}")
      offset += size
    }
    var header = Array("{\(parts.joined(separator: ","))}".utf8)
    header.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - header.count % 8) % 8))
    return (header, order)
  }

  /// The whole file in memory.
  public static func serialize(tensors: [String: Tensor], metadata: [String: String] = [:]) -> [UInt8] {
    let (header, order) = layout(tensors: tensors, metadata: metadata)
    var out = [UInt8]()
    out.reserveCapacity(8 + header.count + order.reduce(0) { $0 + tensors[$1]!.rawBytes.count })
    withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
    out.append(contentsOf: header)
    for name in order { out.append(contentsOf: tensors[name]!.rawBytes) }
    return out
  }

  /// Writes `tensors` to `path` atomically (temporary file + rename), streaming one tensor at a time.
  public static func write(
    _ tensors: [String: Tensor], metadata: [String: String] = [:], to path: String
  ) throws {
    let (header, order) = layout(tensors: tensors, metadata: metadata)
    try AtomicFileWriter.write(to: path) { sink in
      var length = UInt64(header.count).littleEndian
      try withUnsafeBytes(of: &length) { try sink($0) }
      try header.withUnsafeBytes { try sink($0) }
      for name in order {
        switch tensors[name]!.storage {
        case .float32(let v): try v.withUnsafeBytes { try sink($0) }
        case .int64(let v): try v.withUnsafeBytes { try sink($0) }
        case .bytes(_, let v): try v.withUnsafeBytes { try sink($0) }
        }
      }
    }
  }
}

