import ModelGraph
import TensorCore

/// The IDX file format of the MNIST database (LeCun et al., http://yann.lecun.com/exdb/mnist/):
///
/// | offset | bytes | content |
/// |---|---|---|
/// | 0 | 2 | zero |
/// | 2 | 1 | element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64 |
/// | 3 | 1 | number of dimensions d |
/// | 4 | 4·d | dimension sizes, big-endian uint32 |
/// | 4+4d | … | elements, big-endian, row-major |
///
/// Magic numbers of MNIST: images 0x00000803 (uint8, 3-D), labels 0x00000801 (uint8, 1-D).
public struct IDXArray: Sendable, Equatable {
  public enum ElementType: UInt8, Sendable {
    case uint8 = 0x08, int8 = 0x09, int16 = 0x0B, int32 = 0x0C, float32 = 0x0D, float64 = 0x0E

    var byteWidth: Int {
      switch self {
      case .uint8, .int8: return 1
      case .int16: return 2
      case .int32, .float32: return 4
      case .float64: return 8
      }
    }
  }

  public var elementType: ElementType
  public var shape: [Int]
  /// The elements as stored (big-endian for multi-byte types).
  public var payload: [UInt8]

  /// Parses an IDX file (plain or gzip). `expectedRank`, when given, is checked against the header
  /// (3 for images, 1 for labels), so a swapped file is reported with its magic number.
  public static func read(path: String, expectedRank: Int? = nil) throws -> IDXArray {
    try parse(FileBytes.read(path), file: path, expectedRank: expectedRank)
  }

  public static func parse(_ bytes: [UInt8], file: String, expectedRank: Int? = nil) throws -> IDXArray {
    func magicText() -> String {
      bytes.prefix(4).map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }
    let expectedMagic =
      expectedRank.map { "magic 0x0000080\($0) (uint8, rank \($0))" } ?? "IDX magic 0x0000TTDD"
    guard bytes.count >= 4, bytes[0] == 0, bytes[1] == 0 else {
      throw TrainingError.malformed(
        file: file, offset: 0, expected: expectedMagic,
        found: bytes.count < 4 ? "\(bytes.count) bytes" : "0x\(magicText())")
    }
    guard let type = ElementType(rawValue: bytes[2]) else {
      throw TrainingError.malformed(
        file: file, offset: 2, expected: "element type 08/09/0B/0C/0D/0E (\(expectedMagic))",
        found: "0x\(magicText())")
    }
    let rank = Int(bytes[3])
    if let expectedRank, rank != expectedRank {
      throw TrainingError.malformed(
        file: file, offset: 3, expected: expectedMagic, found: "0x\(magicText()) (rank \(rank))")
    }
    let headerSize = 4 + 4 * rank
    guard bytes.count >= headerSize else {
      throw TrainingError.malformed(
        file: file, offset: bytes.count, expected: "\(headerSize)-byte header for rank \(rank)",
        found: "end of file")
    }
    var shape: [Int] = []
    for axis in 0..<rank {
      let o = 4 + 4 * axis
      let size = Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3])
      shape.append(size)
    }
    // Each dim is < 2^32, so the product can overflow Int: check it, then compare with the file.
    var payloadSize = type.byteWidth
    for d in shape {
      let (p, overflow) = payloadSize.multipliedReportingOverflow(by: d)
      guard !overflow, p <= bytes.count else {
        throw TrainingError.malformed(
          file: file, offset: 4, expected: "dimensions whose data fits in the file (\(bytes.count) bytes)",
          found: "shape \(shape) × \(type.byteWidth) bytes")
      }
      payloadSize = p
    }
    guard bytes.count - headerSize == payloadSize else {
      throw TrainingError.malformed(
        file: file, offset: headerSize,
        expected: "\(payloadSize) bytes of data for shape \(shape)",
        found: "\(bytes.count - headerSize) bytes")
    }
    return IDXArray(elementType: type, shape: shape, payload: Array(bytes[headerSize...]))
  }

  /// The elements as Float (big-endian decoded).
  public func floats() -> [Float] {
    let w = elementType.byteWidth
    return (0..<(payload.count / w)).map { i -> Float in
      var bits: UInt64 = 0
      for b in 0..<w { bits = bits << 8 | UInt64(payload[i * w + b]) }
      switch elementType {
      case .uint8: return Float(UInt8(bits))
      case .int8: return Float(Int8(bitPattern: UInt8(bits)))
      case .int16: return Float(Int16(bitPattern: UInt16(bits)))
      case .int32: return Float(Int32(bitPattern: UInt32(bits)))
      case .float32: return Float(bitPattern: UInt32(bits))
      case .float64: return Float(Double(bitPattern: bits))
      }
    }
  }

  /// The elements as Int (labels); float types are truncated, and a NaN, infinite or out-of-range
  /// float becomes `Int.min` (so a label check rejects it instead of the conversion trapping).
  public func ints() -> [Int] {
    if elementType == .uint8 { return payload.map { Int($0) } }
    return floats().map { $0.isFinite && abs($0) < 0x1p62 ? Int($0) : Int.min }
  }
}

extension String {
  func leftPadded(to width: Int) -> String {
    count >= width ? self : String(repeating: "0", count: width - count) + self
  }
}
