/// Little-endian byte writer and bounds-checked reader for the `.pkz` sections.
/// Varints are unsigned LEB128 (as in protobuf): 7 bits per byte, high bit = more follows.
public struct ByteWriter: Sendable {
  public private(set) var bytes: [UInt8] = []

  public init() {}

  public var count: Int { bytes.count }

  public mutating func u8(_ v: UInt8) { bytes.append(v) }
  public mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
  public mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
  public mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
  public mutating func f32(_ v: Float) { u32(v.bitPattern) }

  public mutating func varint(_ value: UInt64) {
    var v = value
    while v >= 0x80 {
      bytes.append(UInt8(v & 0x7F) | 0x80)
      v >>= 7
    }
    bytes.append(UInt8(v))
  }

  public mutating func varint(_ value: Int) {
    precondition(value >= 0, "ByteWriter.varint: negative \(value)")
    varint(UInt64(value))
  }

  /// Signed integers as zigzag varints (protobuf sint64).
  public mutating func zigzag(_ value: Int) {
    let v = Int64(value)
    varint(UInt64(bitPattern: (v << 1) ^ (v >> 63)))
  }

  public mutating func string(_ s: String) {
    let utf8 = Array(s.utf8)
    varint(utf8.count)
    bytes += utf8
  }

  public mutating func raw(_ data: [UInt8]) { bytes += data }

  /// Length-prefixed bytes.
  public mutating func blob(_ data: [UInt8]) {
    varint(data.count)
    bytes += data
  }

  public mutating func floats(_ values: [Float]) {
    for v in values { f32(v) }
  }
}

/// Reads a section of a `.pkz` file. `position` is relative to the section; errors carry the
/// absolute file offset (`baseOffset + position`) and the section name.
public struct ByteReader {
  public let bytes: [UInt8]
  public let range: Range<Int>
  public let section: String
  /// File offset of `bytes[range.lowerBound]`.
  public let baseOffset: Int
  public private(set) var position: Int

  public init(bytes: [UInt8], range: Range<Int>? = nil, section: String, baseOffset: Int? = nil) {
    self.bytes = bytes
    self.range = range ?? 0..<bytes.count
    self.section = section
    self.baseOffset = baseOffset ?? self.range.lowerBound
    self.position = 0
  }

  public var remaining: Int { range.count - position }
  public var isAtEnd: Bool { remaining == 0 }
  /// File offset of the next byte.
  public var fileOffset: Int { baseOffset + position }

  mutating func take(_ n: Int) throws -> Range<Int> {
    guard n >= 0, n <= remaining else {
      throw CompressionError.truncated(
        section: section, offset: fileOffset, needed: n, available: remaining)
    }
    let lower = range.lowerBound + position
    position += n
    return lower..<(lower + n)
  }

  public mutating func u8() throws -> UInt8 { bytes[try take(1).lowerBound] }

  private mutating func fixed<T: FixedWidthInteger>(_: T.Type) throws -> T {
    let r = try take(MemoryLayout<T>.size)
    var v: T = 0
    for (shift, i) in r.enumerated() { v |= T(bytes[i]) << T(shift * 8) }
    return v
  }

  public mutating func u16() throws -> UInt16 { try fixed(UInt16.self) }
  public mutating func u32() throws -> UInt32 { try fixed(UInt32.self) }
  public mutating func u64() throws -> UInt64 { try fixed(UInt64.self) }
  public mutating func f32() throws -> Float { Float(bitPattern: try u32()) }

  public mutating func varint() throws -> UInt64 {
    let start = fileOffset
    var result: UInt64 = 0
    for shift in stride(from: 0, to: 64, by: 7) {
      let b = try u8()
      result |= UInt64(b & 0x7F) << UInt64(shift)
      if b & 0x80 == 0 { return result }
    }
    throw CompressionError.corrupt(
      section: section, offset: start, expected: "a varint of at most 10 bytes", found: "more")
  }

  /// A varint that must be ≤ `limit` (a count, a length, an index); `what` names it in the error.
  public mutating func count(_ what: String, limit: Int) throws -> Int {
    let start = fileOffset
    let v = try varint()
    guard v <= UInt64(limit) else {
      throw CompressionError.corrupt(
        section: section, offset: start, expected: "\(what) ≤ \(limit)", found: "\(v)")
    }
    return Int(v)
  }

  public mutating func zigzag() throws -> Int {
    let v = try varint()
    return Int(Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1))
  }

  public mutating func string() throws -> String {
    let n = try count("string length", limit: remaining)
    let r = try take(n)
    let start = baseOffset + (r.lowerBound - range.lowerBound)
    guard let s = String(validating: bytes[r], as: UTF8.self) else {
      throw CompressionError.corrupt(
        section: section, offset: start, expected: "UTF-8", found: "invalid bytes")
    }
    return s
  }

  public mutating func raw(_ n: Int) throws -> [UInt8] { Array(bytes[try take(n)]) }

  public mutating func blob() throws -> [UInt8] {
    try raw(try count("blob length", limit: remaining))
  }

  public mutating func floats(_ n: Int) throws -> [Float] {
    guard n <= remaining / 4 else {
      throw CompressionError.truncated(
        section: section, offset: fileOffset, needed: n * 4, available: remaining)
    }
    return try (0..<n).map { _ in try f32() }
  }

  /// A corruption error at the current position.
  public func corrupt(expected: String, found: String) -> CompressionError {
    .corrupt(section: section, offset: fileOffset, expected: expected, found: found)
  }
}
