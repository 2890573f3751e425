import TensorCore
import Testing

@testable import Compression

/// Seeded symbol streams: uniform, geometric (skewed) and Fibonacci-weighted (deep trees).
func randomSymbols(count: Int, alphabet: Int, skew: Double, seed: UInt64) -> [UInt32] {
  var rng = SeededGenerator(seed: seed)
  return (0..<count).map { _ in
    if skew == 0 { return UInt32(rng.next() % UInt64(alphabet)) }
    // Geometric: P(s) ∝ (1 - skew)^s, truncated to the alphabet.
    var s = 0
    while s < alphabet - 1 && Double(rng.nextUniform()) < skew { s += 1 }
    return UInt32(s)
  }
}

func roundTrip(_ symbols: [UInt32], width: Int, entropy: Bool = true) throws -> [UInt32] {
  let blob = SymbolStream.encode(symbols, width: width, entropyCoding: entropy)
  var r = ByteReader(bytes: blob, section: "test")
  let out = try SymbolStream.decode(&r, alphabetLimit: 1 << width, maxCount: symbols.count)
  #expect(r.isAtEnd)
  return out
}

@Suite struct HuffmanTests {
  @Test func crc32MatchesTheCatalogueCheckValue() {
    let check = Array("123456789".utf8)
    #expect(CRC32.checksum(check) == 0xCBF4_3926)
    #expect(CRC32.checksumReference(check) == 0xCBF4_3926)
    #expect(CRC32.checksum([UInt8]()) == 0)
    var rng = SeededGenerator(seed: 3)
    let data = (0..<1000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    #expect(CRC32.checksum(data) == CRC32.checksumReference(data))
  }

  @Test func bitWriterAndReaderAgreeOnMixedWidths() throws {
    var rng = SeededGenerator(seed: 11)
    let fields = (0..<2000).map { _ -> (UInt32, Int) in
      let width = Int(rng.next() % 33)
      let value = width == 0 ? 0 : UInt32(truncatingIfNeeded: rng.next()) >> UInt32(32 - width)
      return (value, width)
    }
    var w = BitWriter()
    for (v, width) in fields { w.write(v, width: width) }
    let bytes = w.finished()
    var r = BitReader(bytes: bytes, bitLimit: w.bitCount, section: "test", baseOffset: 0)
    for (v, width) in fields { #expect(try r.read(width) == v) }
    #expect(r.bitsLeft == 0)
    #expect(throws: CompressionError.self) { try r.read(1) }
  }

  @Test(arguments: [0.0, 0.5, 0.9, 0.99])
  func huffmanRoundTripsRandomAndSkewedStreams(skew: Double) throws {
    for (seed, alphabet) in [(1, 2), (2, 16), (3, 32), (4, 256)] {
      let symbols = randomSymbols(count: 5000, alphabet: alphabet, skew: skew, seed: UInt64(seed))
      let width = alphabet.trailingZeroBitCount
      #expect(try roundTrip(symbols, width: width) == symbols)
      #expect(try roundTrip(symbols, width: width, entropy: false) == symbols)
      // Huffman is never worse than fixed width by more than its table.
      let huff = SymbolStream.encodeHuffman(symbols)
      let fixed = SymbolStream.encodeFixed(symbols, width: width)
      #expect(huff.count <= fixed.count + (alphabet * 5 + 7) / 8 + 8)
    }
  }

  @Test func emptyAndOneSymbolStreamsRoundTrip() throws {
    #expect(try roundTrip([], width: 5) == [])
    #expect(try roundTrip([7], width: 5) == [7])
    #expect(
      try roundTrip([UInt32](repeating: 3, count: 1000), width: 5) == [UInt32](repeating: 3, count: 1000))
    // The Huffman coding itself (not the constant shortcut) handles one symbol with a 1-bit code.
    let one = [UInt32](repeating: 4, count: 9)
    var r = ByteReader(bytes: SymbolStream.encodeHuffman(one), section: "test")
    #expect(try SymbolStream.decode(&r, alphabetLimit: 8, maxCount: 9) == one)
    var e = ByteReader(bytes: SymbolStream.encodeHuffman([]), section: "test")
    #expect(try SymbolStream.decode(&e, alphabetLimit: 8, maxCount: 0) == [])
  }

  @Test func codeLengthsAreLimitedAndPrefixFreeOnFibonacciFrequencies() throws {
    // Fibonacci weights give the deepest possible tree: 40 symbols → depth 39 unlimited.
    var fib = [1, 1]
    while fib.count < 40 { fib.append(fib[fib.count - 1] + fib[fib.count - 2]) }
    for limit in [8, 12, 24] {
      let lengths = Huffman.codeLengths(frequencies: fib, limit: limit)
      #expect(lengths.max()! <= limit)
      #expect(lengths.allSatisfy { $0 >= 1 })
      let kraft = lengths.reduce(0.0) { $0 + 1.0 / Double(1 << $1) }
      #expect(kraft <= 1.0)
      // Decode a stream under these lengths through the table and the reference walk.
      let symbols = (0..<40).flatMap { s in [UInt32](repeating: UInt32(s), count: 1 + s % 3) }
      var w = BitWriter()
      Huffman.encode(symbols, lengths: lengths, into: &w)
      let decoder = try HuffmanDecoder(lengths: lengths)
      var fast = BitReader(bytes: w.finished(), bitLimit: w.bitCount, section: "t", baseOffset: 0)
      var slow = fast
      #expect(try decoder.decode(&fast, count: symbols.count) == symbols)
      #expect(try symbols.map { _ in try decoder.decodeReference(&slow) } == symbols)
    }
  }

  @Test func unlimitedLengthsAreOptimal() {
    // Classic example: frequencies 45,13,12,16,9,5 → lengths 1,3,3,3,4,4 (CLRS §16.3).
    #expect(Huffman.codeLengths(frequencies: [45, 13, 12, 16, 9, 5]) == [1, 3, 3, 3, 4, 4])
    // Canonical codes of RFC 1951's example: lengths (3,3,3,3,3,2,4,4) → F=00, A=010, …, H=1111.
    let codes = Huffman.canonicalCodes(lengths: [3, 3, 3, 3, 3, 2, 4, 4])
    #expect(codes == [0b010, 0b011, 0b100, 0b101, 0b110, 0b00, 0b1110, 0b1111])
  }

  @Test func overSubscribedLengthsAndBadSymbolsAreRejected() throws {
    #expect(throws: CompressionError.self) { try HuffmanDecoder(lengths: [1, 1, 1]) }
    #expect(throws: CompressionError.self) { try HuffmanDecoder(lengths: [25, 1]) }
    // A stream whose symbols exceed the reader's alphabet limit.
    let blob = SymbolStream.encode([0, 9, 3], width: 4, entropyCoding: true)
    var r = ByteReader(bytes: blob, section: "streams")
    #expect(throws: CompressionError.self) { try SymbolStream.decode(&r, alphabetLimit: 8, maxCount: 3) }
  }
}
