// Compression: k-means weight sharing, int8, sparse index coding, Huffman coding and the `.pkz`
// container. Imports ModelGraph only (DESIGN.md); Pruning and Training are wired in by PruneKit.
import ModelGraph

/// Errors of the Compression module. Every decoding error names the section of the `.pkz` file and
/// the absolute byte offset where the problem was found, with what was expected against what was found.
public enum CompressionError: Error, CustomStringConvertible, Equatable {
  /// Fewer bytes than needed: `needed` more bytes at `offset`, only `available` left in `section`.
  case truncated(section: String, offset: Int, needed: Int, available: Int)
  case badMagic(offset: Int, found: [UInt8])
  case unsupportedVersion(offset: Int, found: Int, supported: Int)
  case checksumMismatch(section: String, offset: Int, length: Int, expected: UInt32, found: UInt32)
  /// A value out of range or inconsistent with the rest of the file.
  case corrupt(section: String, offset: Int, expected: String, found: String)
  /// An on-disk enum code this version does not know (written by a newer PruneKit, or corrupt).
  case unknownCode(section: String, offset: Int, kind: String, code: Int)
  case invalidArgument(what: String, expected: String, found: String)
  case unsupportedTensor(name: String, reason: String)
  case io(path: String, reason: String)
  /// A decoding error of the file at `path` (what `readPKZ(path:)` throws).
  indirect case inFile(path: String, CompressionError)

  public var description: String {
    switch self {
    case .truncated(let section, let offset, let needed, let available):
      return "pkz section '\(section)' at byte \(offset): truncated, needed \(needed) bytes, "
        + "found \(available) (the file was cut short)"
    case .badMagic(let offset, let found):
      let hex = found.map { String($0, radix: 16) }.joined(separator: " ")
      return "pkz section 'header' at byte \(offset): expected magic 89 50 4b 5a 0d 0a 1a 0a, "
        + "found \(hex) (not a .pkz file)"
    case .unsupportedVersion(let offset, let found, let supported):
      return "pkz section 'header' at byte \(offset): format version \(found) is not supported "
        + "(this PruneKit reads up to \(supported)); upgrade PruneKit"
    case .checksumMismatch(let section, let offset, let length, let expected, let found):
      return "pkz section '\(section)' (bytes \(offset)..<\(offset + length)): CRC32 expected "
        + "\(hex32(expected)), found \(hex32(found)) (the file is corrupt)"
    case .corrupt(let section, let offset, let expected, let found):
      return "pkz section '\(section)' at byte \(offset): expected \(expected), found \(found)"
    case .unknownCode(let section, let offset, let kind, let code):
      return "pkz section '\(section)' at byte \(offset): unknown \(kind) code \(code) "
        + "(written by a newer PruneKit, or corrupt)"
    case .invalidArgument(let what, let expected, let found):
      return "\(what): expected \(expected), found \(found)"
    case .unsupportedTensor(let name, let reason):
      return "tensor '\(name)': \(reason)"
    case .io(let path, let reason):
      return "\(path): \(reason)"
    case .inFile(let path, let error):
      return "\(path): \(error)"
    }
  }

  /// The section an error was found in, when it is a decoding error.
  public var section: String? {
    switch self {
    case .truncated(let s, _, _, _), .checksumMismatch(let s, _, _, _, _), .corrupt(let s, _, _, _),
      .unknownCode(let s, _, _, _):
      return s
    case .badMagic, .unsupportedVersion: return "header"
    case .inFile(_, let error): return error.section
    default: return nil
    }
  }
}

private func hex32(_ v: UInt32) -> String {
  let s = String(v, radix: 16)
  return "0x" + String(repeating: "0", count: 8 - s.count) + s
}
