/// Table-driven decoding of canonical Huffman codes.
///
/// A primary table indexed by the next `primaryBits` bits gives (symbol, length) for every code of
/// at most `primaryBits` bits in one lookup; longer codes (rare by construction) fall back to the
/// canonical walk of `decodeReference` (the counting decoder of zlib's `puff.c`), which is also the
/// reference the table is tested against.
public struct HuffmanDecoder: Sendable {
  public static let maxPrimaryBits = 10
  /// Code lengths per symbol, as stored.
  public let lengths: [Int]
  let maxLength: Int
  /// countPerLength[l]: number of codes of length l.
  let countPerLength: [Int]
  /// Symbols ordered by (length, symbol): canonical order.
  let sortedSymbols: [UInt32]
  let primaryBits: Int
  /// entry = symbol << 5 | length; 0 = no code of ≤ primaryBits bits starts with these bits.
  let primary: [UInt32]

  /// Validates `lengths` (each ≤ `Huffman.maxCodeLength`, Kraft sum ≤ 1); errors name the stream.
  public init(lengths: [Int], section: String = "streams", offset: Int = 0) throws {
    let maxLength = lengths.max() ?? 0
    guard maxLength <= Huffman.maxCodeLength, lengths.allSatisfy({ $0 >= 0 }) else {
      throw CompressionError.corrupt(
        section: section, offset: offset, expected: "code lengths ≤ \(Huffman.maxCodeLength)",
        found: "\(maxLength)")
    }
    var counts = [Int](repeating: 0, count: maxLength + 1)
    for l in lengths where l > 0 { counts[l] += 1 }
    var kraft = 0  // in units of 2^-maxLength
    for l in 1...max(maxLength, 1) where l <= maxLength { kraft += counts[l] << (maxLength - l) }
    guard maxLength == 0 || kraft <= 1 << maxLength else {
      throw CompressionError.corrupt(
        section: section, offset: offset, expected: "a prefix code (Kraft sum ≤ 1)",
        found: "an over-subscribed set of code lengths")
    }
    self.lengths = lengths
    self.maxLength = maxLength
    self.countPerLength = counts
    self.sortedSymbols = lengths.indices.filter { lengths[$0] > 0 }
      .sorted { (lengths[$0], $0) < (lengths[$1], $1) }.map { UInt32($0) }
    let p = min(maxLength, HuffmanDecoder.maxPrimaryBits)
    self.primaryBits = p
    var table = [UInt32](repeating: 0, count: 1 << p)
    let codes = Huffman.canonicalCodes(lengths: lengths)
    for (symbol, l) in lengths.enumerated() where l > 0 && l <= p {
      let first = Int(codes[symbol]) << (p - l)
      for i in first..<(first + (1 << (p - l))) { table[i] = UInt32(symbol) << 5 | UInt32(l) }
    }
    self.primary = table
  }

  /// Decodes one symbol: one table lookup for short codes, the canonical walk for long ones.
  @inline(__always)
  public func decode(_ reader: inout BitReader) throws -> UInt32 {
    if primaryBits > 0 {
      let entry = primary[Int(reader.peek(primaryBits))]
      let l = Int(entry & 31)
      if l > 0 {
        try reader.skip(l)
        return entry >> 5
      }
    }
    return try decodeReference(&reader)
  }

  /// Bit-by-bit canonical decoding: at each length l, codes of length l are the integers
  /// first..<first+count[l]; a code below that range is a prefix of a longer code.
  public func decodeReference(_ reader: inout BitReader) throws -> UInt32 {
    var code = 0
    var first = 0
    var index = 0
    let start = reader
    for l in stride(from: 1, through: maxLength, by: 1) {
      code |= Int(try reader.read(1))
      let count = countPerLength[l]
      if code - first < count { return sortedSymbols[index + code - first] }
      index += count
      first = (first + count) << 1
      code <<= 1
    }
    throw start.corrupt(expected: "a Huffman code", found: "bits that match no code")
  }

  /// Decodes `count` symbols.
  public func decode(_ reader: inout BitReader, count: Int) throws -> [UInt32] {
    var out = [UInt32]()
    out.reserveCapacity(count)
    for _ in 0..<count { out.append(try decode(&reader)) }
    return out
  }
}
