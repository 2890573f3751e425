/// Bit-level writer and reader, most significant bit first within each byte (the order in which
/// canonical Huffman codes compare numerically, so a code's bits can be read as an integer prefix).
public struct BitWriter: Sendable {
  public private(set) var bytes: [UInt8] = []
  /// Pending bits, right-aligned; `pendingCount` < 8 after every `write`.
  private var pending: UInt64 = 0
  private var pendingCount = 0

  public init() {}

  /// Number of bits written so far.
  public var bitCount: Int { bytes.count * 8 + pendingCount }

  /// Appends the low `width` bits of `value` (0 ≤ width ≤ 32), most significant first.
  public mutating func write(_ value: UInt32, width: Int) {
    precondition(width >= 0 && width <= 32, "BitWriter.write: width \(width) not in 0...32")
    precondition(
      width == 32 || value >> UInt32(width) == 0, "BitWriter.write: \(value) exceeds \(width) bits")
    pending = (pending << UInt64(width)) | UInt64(value)
    pendingCount += width
    while pendingCount >= 8 {
      pendingCount -= 8
      bytes.append(UInt8(truncatingIfNeeded: pending >> UInt64(pendingCount)))
    }
    pending &= (1 << UInt64(pendingCount)) - 1
  }

  /// The bytes with the last partial byte padded with zero bits.
  public func finished() -> [UInt8] {
    var out = bytes
    if pendingCount > 0 { out.append(UInt8(truncatingIfNeeded: pending << UInt64(8 - pendingCount))) }
    return out
  }
}

/// Reads what `BitWriter` wrote. Every read is bounds-checked against `bitLimit`; errors name the
/// section and the absolute byte offset of the stream (`baseOffset`).
public struct BitReader {
  let bytes: [UInt8]
  let start: Int
  public let bitLimit: Int
  public private(set) var bitPosition = 0
  let section: String
  let baseOffset: Int

  /// Reads `bitLimit` bits from `bytes[start...]`; `baseOffset` is the file offset of `bytes[start]`.
  public init(bytes: [UInt8], start: Int = 0, bitLimit: Int, section: String, baseOffset: Int) {
    precondition(start + (bitLimit + 7) / 8 <= bytes.count, "BitReader: \(bitLimit) bits past the buffer")
    self.bytes = bytes
    self.start = start
    self.bitLimit = bitLimit
    self.section = section
    self.baseOffset = baseOffset
  }

  public var bitsLeft: Int { bitLimit - bitPosition }

  /// The next `width` bits (≤ 32) as an integer, without consuming them; past the end reads zeros.
  @inline(__always)
  public func peek(_ width: Int) -> UInt32 {
    // A 40-bit window from the current byte covers any 32-bit field at any bit offset (≤ 7).
    let byteIndex = bitPosition >> 3
    let byteEnd = (bitLimit + 7) >> 3
    var window: UInt64 = 0
    for i in 0..<5 {
      let j = byteIndex + i
      window = (window << 8) | (j < byteEnd ? UInt64(bytes[start + j]) : 0)
    }
    let shift = 40 - (bitPosition & 7) - width
    return UInt32(truncatingIfNeeded: (window >> UInt64(shift)) & ((1 << UInt64(width)) - 1))
  }

  /// Consumes `width` bits; throws if fewer are left.
  public mutating func skip(_ width: Int) throws {
    guard width <= bitsLeft else { throw truncation(needed: width) }
    bitPosition += width
  }

  /// Reads `width` bits (≤ 32) as an unsigned integer.
  public mutating func read(_ width: Int) throws -> UInt32 {
    guard width <= bitsLeft else { throw truncation(needed: width) }
    let value = peek(width)
    bitPosition += width
    return value
  }

  func truncation(needed: Int) -> CompressionError {
    .truncated(
      section: section, offset: baseOffset + bitPosition / 8, needed: (needed + 7) / 8,
      available: bitsLeft / 8)
  }

  /// A corruption error at the current position.
  public func corrupt(expected: String, found: String) -> CompressionError {
    .corrupt(section: section, offset: baseOffset + bitPosition / 8, expected: expected, found: found)
  }
}
