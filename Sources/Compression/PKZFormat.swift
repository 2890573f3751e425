import TensorCore

/// The `.pkz` file layout, version 1. All integers little-endian; varints are LEB128.
///
///     offset 0   magic        89 50 4B 5A 0D 0A 1A 0A   ("\x89PKZ\r\n\x1a\n", as PNG: catches text-mode
///                                                        transfers and 7-bit channels)
///            8   version      u16 (= 1)
///           10   sections     u16, the number of section table entries
///           12   headerLength u32, bytes from 0 to the first section (= 16 + 24·sections + 4)
///           16   section table, per section: kind u16, reserved u16 (0), crc32 u32, offset u64, length u64
///                header CRC32  u32 over bytes 0 ..< headerLength − 4
///                sections, in table order, back to back
///                trailer: CRC32 u32 of every byte before it, then "PKZ!"
///
/// Sections: `graph` (the graph without its compressed weights: nodes, values, raw tensors, masks),
/// `layers` (the table of compressed layers: name, shape, scheme, bits, byte ranges), `codebooks`
/// and `streams` (index and value streams). A reader checks the header CRC, each section's CRC and
/// the whole file's CRC before decoding anything.
public enum PKZFormat {
  public static let magic: [UInt8] = [0x89, 0x50, 0x4B, 0x5A, 0x0D, 0x0A, 0x1A, 0x0A]
  public static let endMagic: [UInt8] = Array("PKZ!".utf8)
  public static let version = 1
  public static let fixedHeaderBytes = 16
  public static let sectionEntryBytes = 24
  public static let trailerBytes = 8

  /// Section kinds. On-disk codes: append-only, never renumber.
  public enum Section: UInt16, Sendable, CaseIterable, CustomStringConvertible {
    case graph = 1
    case layers = 2
    case codebooks = 3
    case streams = 4

    public var description: String {
      switch self {
      case .graph: return "graph"
      case .layers: return "layers"
      case .codebooks: return "codebooks"
      case .streams: return "streams"
      }
    }
  }

  /// DType codes on disk. Append-only; 0 means "none" where a dtype is optional.
  static let dtypeCodes: [(DType, UInt8)] = [
    (.float32, 1), (.float16, 2), (.bfloat16, 3), (.float64, 4), (.int64, 5), (.int32, 6), (.int16, 7),
    (.int8, 8), (.uint8, 9), (.uint16, 10), (.uint32, 11), (.uint64, 12), (.bool, 13),
  ]

  static func code(of dtype: DType) -> UInt8 { dtypeCodes.first { $0.0 == dtype }!.1 }

  static func dtype(code: UInt8, _ r: ByteReader, at offset: Int) throws -> DType {
    guard let entry = dtypeCodes.first(where: { $0.1 == code }) else {
      throw CompressionError.unknownCode(section: r.section, offset: offset, kind: "dtype", code: Int(code))
    }
    return entry.0
  }
}
