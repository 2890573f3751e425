/// How a stream of small integer symbols (cluster indices, gap codes, int8 values) is stored.
/// On-disk codes: append-only, never renumber.
public enum StreamCoding: UInt8, Sendable, CaseIterable, CustomStringConvertible {
  /// Every symbol in `width` bits.
  case fixedWidth = 1
  /// Canonical Huffman: code lengths (5 bits per symbol of the alphabet), then the codes.
  case huffman = 2
  /// All symbols equal: only the symbol and the count are stored.
  case constant = 3

  public var description: String {
    switch self {
    case .fixedWidth: return "fixed"
    case .huffman: return "huffman"
    case .constant: return "constant"
    }
  }
}

/// Encodes a symbol stream as a self-describing blob, choosing the smallest allowed coding:
///
///     coding u8 | count varint | fixedWidth: width u8, packed bits
///                              | huffman:    alphabet varint, lengths (5 bits each), payload bits varint, payload
///                              | constant:   symbol varint
public enum SymbolStream {
  static let lengthFieldBits = 5

  /// `width`: bits per symbol of the fixed-width coding (every symbol must fit). `entropyCoding`:
  /// allow Huffman and constant coding (off for the paper's "after quantization" stage).
  public static func encode(_ symbols: [UInt32], width: Int, entropyCoding: Bool) -> [UInt8] {
    var candidates = [encodeFixed(symbols, width: width)]
    // Huffman tables have one length per symbol of the alphabet: only for alphabets ≤ 2^16.
    if entropyCoding && width <= 16 {
      if let first = symbols.first, symbols.allSatisfy({ $0 == first }) {
        var w = ByteWriter()
        w.u8(StreamCoding.constant.rawValue)
        w.varint(symbols.count)
        w.varint(UInt64(first))
        candidates.append(w.bytes)
      }
      candidates.append(encodeHuffman(symbols))
    }
    return candidates.min { $0.count < $1.count }!
  }

  static func encodeFixed(_ symbols: [UInt32], width: Int) -> [UInt8] {
    var bits = BitWriter()
    for s in symbols { bits.write(s, width: width) }
    var w = ByteWriter()
    w.u8(StreamCoding.fixedWidth.rawValue)
    w.varint(symbols.count)
    w.u8(UInt8(width))
    w.raw(bits.finished())
    return w.bytes
  }

  static func encodeHuffman(_ symbols: [UInt32]) -> [UInt8] {
    let alphabet = Int(symbols.max() ?? 0) + 1
    var frequencies = [Int](repeating: 0, count: alphabet)
    for s in symbols { frequencies[Int(s)] += 1 }
    let lengths = Huffman.codeLengths(frequencies: frequencies)
    var table = BitWriter()
    for l in lengths { table.write(UInt32(l), width: lengthFieldBits) }
    var payload = BitWriter()
    Huffman.encode(symbols, lengths: lengths, into: &payload)
    var w = ByteWriter()
    w.u8(StreamCoding.huffman.rawValue)
    w.varint(symbols.count)
    w.varint(alphabet)
    w.raw(table.finished())
    w.varint(payload.bitCount)
    w.raw(payload.finished())
    return w.bytes
  }

  /// The coding a blob uses (its first byte), for reports.
  public static func coding(of blob: [UInt8]) -> StreamCoding? {
    blob.first.flatMap(StreamCoding.init(rawValue:))
  }

  /// Decodes a blob written by `encode`. Every symbol must be < `alphabetLimit`; at most `maxCount`
  /// symbols are accepted. The reader must cover exactly the blob.
  public static func decode(_ r: inout ByteReader, alphabetLimit: Int, maxCount: Int) throws -> [UInt32] {
    let codingOffset = r.fileOffset
    let code = try r.u8()
    guard let coding = StreamCoding(rawValue: code) else {
      throw CompressionError.unknownCode(
        section: r.section, offset: codingOffset, kind: "stream coding", code: Int(code))
    }
    let count = try r.count("symbol count", limit: maxCount)
    var symbols: [UInt32]
    switch coding {
    case .constant:
      let at = r.fileOffset
      let s = try r.varint()
      guard s < UInt64(alphabetLimit) else {
        throw CompressionError.corrupt(
          section: r.section, offset: at, expected: "symbol < \(alphabetLimit)", found: "\(s)")
      }
      return [UInt32](repeating: UInt32(s), count: count)
    case .fixedWidth:
      let width = Int(try r.u8())
      guard width <= 32, count * width <= r.remaining * 8 else {
        throw r.corrupt(
          expected: "\(count) symbols of ≤ 32 bits in \(r.remaining) bytes", found: "width \(width)")
      }
      let bytes = try r.raw((count * width + 7) / 8)
      var bits = BitReader(
        bytes: bytes, bitLimit: count * width, section: r.section, baseOffset: r.fileOffset - bytes.count)
      symbols = try (0..<count).map { _ in try bits.read(width) }
    case .huffman:
      let alphabetOffset = r.fileOffset
      let alphabet = try r.count("alphabet size", limit: alphabetLimit)
      let table = try r.raw((alphabet * lengthFieldBits + 7) / 8)
      var tableBits = BitReader(
        bytes: table, bitLimit: alphabet * lengthFieldBits, section: r.section, baseOffset: alphabetOffset)
      let lengths = try (0..<alphabet).map { _ in Int(try tableBits.read(lengthFieldBits)) }
      let decoder = try HuffmanDecoder(lengths: lengths, section: r.section, offset: alphabetOffset)
      let payloadBits = try r.count("payload bits", limit: r.remaining * 8)
      guard count <= payloadBits || (count == 0) else {
        throw r.corrupt(expected: "≥ 1 bit per symbol", found: "\(count) symbols in \(payloadBits) bits")
      }
      let payload = try r.raw((payloadBits + 7) / 8)
      var bits = BitReader(
        bytes: payload, bitLimit: payloadBits, section: r.section, baseOffset: r.fileOffset - payload.count)
      symbols = try decoder.decode(&bits, count: count)
      guard bits.bitsLeft == 0 else {
        throw bits.corrupt(expected: "end of Huffman payload", found: "\(bits.bitsLeft) bits left")
      }
    }
    if let bad = symbols.first(where: { UInt64($0) >= UInt64(alphabetLimit) }) {
      throw r.corrupt(expected: "symbols < \(alphabetLimit)", found: "\(bad)")
    }
    return symbols
  }
}
