import TensorCore

/// One tensor's header entry: dtype code, shape, and byte range inside the data buffer
/// (offsets relative to the first byte after the header).
public struct SafeTensorsEntry: Sendable, Equatable {
  public var name: String
  public var code: SafeTensorsDTypeCode
  public var shape: [Int]
  public var begin: Int
  public var end: Int
  public var byteCount: Int { end - begin }
}

/// The parsed and validated header of a safetensors file.
///
/// Layout (spec, huggingface/safetensors README): 8-byte little-endian unsigned header length N,
/// N bytes of UTF-8 JSON `{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__":
/// {str: str}}` (right-padded with spaces), then the data buffer. Checks: N within the file, valid JSON,
/// unique names, known dtype, non-negative dims, begin ≤ end ≤ buffer size, end − begin = elements ×
/// element size, no two tensors overlap. Gaps between tensors are allowed (some writers leave them).
public struct SafeTensorsHeader: Sendable, Equatable {
  /// Entries in file order.
  public var entries: [SafeTensorsEntry]
  public var metadata: [String: String]
  /// N, the JSON header's length in bytes.
  public var headerLength: Int
  /// Offset of the data buffer from the file start (8 + N).
  public var dataStart: Int { 8 + headerLength }

  /// Largest header the reader accepts (the reference implementation's limit is 100 MB).
  public static let maxHeaderLength = 100_000_000

  /// Parses the header from the file's first bytes. `fileSize` bounds every offset.
  /// `prefix` must hold at least min(fileSize, 8 + N) bytes.
  static func parse(file: String, fileSize: Int, bytes: UnsafeRawBufferPointer) throws(ModelGraphError)
    -> SafeTensorsHeader
  {
    func bad(_ at: String, _ expected: String, _ found: String) -> ModelGraphError {
      .malformed(file: file, at: at, expected: expected, found: found)
    }
    guard fileSize >= 8 else {
      throw bad("header length", "at least 8 bytes (a safetensors file)", "a file of \(fileSize) bytes")
    }
    let n = bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self).littleEndian
    guard n <= UInt64(fileSize - 8), n <= UInt64(maxHeaderLength) else {
      throw bad(
        "header length", "at most \(min(fileSize - 8, maxHeaderLength)) bytes (file size \(fileSize))",
        "\(n)")
    }
    let length = Int(n)
    guard length >= 2, bytes[8] == UInt8(ascii: "{") else {
      throw bad("header", "a JSON object starting with '{'", length == 0 ? "an empty header" : "other text")
    }
    let json: JSONTree
    do {
      json = try JSONTree.parse(Array(bytes[8..<(8 + length)]))
    } catch {
      throw bad("header JSON \(error.description)", "valid JSON", "invalid JSON")
    }
    guard let pairs = json.objectValue else { throw bad("header", "a JSON object", json.kindName) }
    if let dup = json.duplicateKey { throw bad("tensor '\(dup)'", "unique tensor names", "a duplicate") }
    let bufferSize = fileSize - 8 - length
    var entries: [SafeTensorsEntry] = []
    var metadata: [String: String] = [:]
    for (name, value) in pairs {
      if name == "__metadata__" {
        metadata = try parseMetadata(value, bad)
      } else {
        entries.append(try parseEntry(name: name, value, bufferSize: bufferSize, bad))
      }
    }
    try checkOverlap(entries, bad)
    return SafeTensorsHeader(entries: entries, metadata: metadata, headerLength: length)
  }

  private static func parseMetadata(
    _ value: JSONTree, _ bad: (String, String, String) -> ModelGraphError
  ) throws(ModelGraphError) -> [String: String] {
    guard let pairs = value.objectValue else {
      throw bad("__metadata__", "an object of strings", value.kindName)
    }
    var out: [String: String] = [:]
    for (key, v) in pairs {
      guard let s = v.stringValue else { throw bad("__metadata__.\(key)", "a string", v.kindName) }
      out[key] = s
    }
    return out
  }

  private static func parseEntry(
    name: String, _ value: JSONTree, bufferSize: Int, _ bad: (String, String, String) -> ModelGraphError
  ) throws(ModelGraphError) -> SafeTensorsEntry {
    let at = "tensor '\(name)'"
    guard value.objectValue != nil else {
      throw bad(at, "an object {dtype, shape, data_offsets}", value.kindName)
    }
    guard let codeText = value["dtype"]?.stringValue else {
      throw bad("\(at) dtype", "a dtype string", value["dtype"]?.kindName ?? "nothing")
    }
    guard let code = SafeTensorsDTypeCode.lookup(code: codeText) else {
      throw bad("\(at) dtype", "one of \(SafeTensorsDTypeCode.knownCodes)", "\"\(codeText)\"")
    }
    guard let dims = value["shape"]?.arrayValue else {
      throw bad("\(at) shape", "an array of integers", value["shape"]?.kindName ?? "nothing")
    }
    var shape: [Int] = []
    for d in dims {
      guard let v = d.intValue, v >= 0 else { throw bad("\(at) shape", "non-negative integers", d.kindName) }
      shape.append(v)
    }
    guard let offsets = value["data_offsets"]?.arrayValue, offsets.count == 2,
      let begin = offsets[0].intValue, let end = offsets[1].intValue
    else {
      throw bad("\(at) data_offsets", "[begin, end] integers", value["data_offsets"]?.kindName ?? "nothing")
    }
    guard begin >= 0, begin <= end, end <= bufferSize else {
      throw bad(
        "\(at) data_offsets", "0 ≤ begin ≤ end ≤ \(bufferSize) (data buffer size)", "[\(begin), \(end)]")
    }
    var elements = 1
    for d in shape {
      let (p, overflow) = elements.multipliedReportingOverflow(by: d)
      guard !overflow else { throw bad("\(at) shape", "a size that fits in memory", "\(shape)") }
      elements = p
    }
    let (expected, overflow) = elements.multipliedReportingOverflow(by: code.byteWidth)
    guard !overflow else { throw bad("\(at) shape", "a size that fits in memory", "\(shape)") }
    guard expected == end - begin else {
      throw bad(
        "\(at) size", "\(shape) × \(code.byteWidth) bytes (\(code.code)) = \(expected) bytes",
        "\(end - begin) bytes in data_offsets [\(begin), \(end)]")
    }
    return SafeTensorsEntry(name: name, code: code, shape: shape, begin: begin, end: end)
  }

  /// Rejects two non-empty tensors sharing a byte.
  private static func checkOverlap(
    _ entries: [SafeTensorsEntry], _ bad: (String, String, String) -> ModelGraphError
  ) throws(ModelGraphError) {
    let sorted = entries.filter { $0.byteCount > 0 }.sorted { ($0.begin, $0.end) < ($1.begin, $1.end) }
    for (a, b) in zip(sorted, sorted.dropFirst()) where b.begin < a.end {
      throw bad(
        "tensor '\(b.name)' data_offsets", "no overlap with tensor '\(a.name)' [\(a.begin), \(a.end))",
        "[\(b.begin), \(b.end)) overlapping it")
    }
  }
}
