import ModelGraph
import TensorCore

/// A CSV table (RFC 4180): comma-separated fields, fields in double quotes may hold commas, line
/// breaks and doubled quotes (`""` → `"`); lines end in LF or CRLF. The first row is the header.
public struct CSVTable: Sendable, Equatable {
  public var header: [String]
  public var rows: [[String]]

  /// Reads a CSV file (plain or gzip).
  public static func read(path: String, separator: UInt8 = UInt8(ascii: ",")) throws -> CSVTable {
    try parse(FileBytes.read(path), file: path, separator: separator)
  }

  /// Parses UTF-8 bytes. Every row must have as many fields as the header; an unterminated quote
  /// or a ragged row is reported with its byte offset.
  public static func parse(_ bytes: [UInt8], file: String, separator: UInt8 = UInt8(ascii: ","))
    throws -> CSVTable
  {
    let quote = UInt8(ascii: "\""), lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
    var records: [[String]] = []
    var recordOffsets: [Int] = []
    var fields: [String] = []
    var field: [UInt8] = []
    var inQuotes = false
    var quoteStart = 0
    var recordStart = 0
    var i = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0  // UTF-8 byte-order mark
    func endField() {
      fields.append(String(decoding: field, as: UTF8.self))
      field.removeAll(keepingCapacity: true)
    }
    func endRecord(at offset: Int) {
      endField()
      if !(fields.count == 1 && fields[0].isEmpty) {
        records.append(fields)
        recordOffsets.append(recordStart)
      }
      fields.removeAll(keepingCapacity: true)
      recordStart = offset
    }
    while i < bytes.count {
      let c = bytes[i]
      if inQuotes {
        if c == quote {
          if i + 1 < bytes.count && bytes[i + 1] == quote {
            field.append(quote)
            i += 1
          } else {
            inQuotes = false
          }
        } else {
          field.append(c)
        }
      } else if c == quote && field.isEmpty {
        inQuotes = true
        quoteStart = i
      } else if c == separator {
        endField()
      } else if c == lf {
        endRecord(at: i + 1)
      } else if c == cr && i + 1 < bytes.count && bytes[i + 1] == lf {
        endRecord(at: i + 2)
        i += 1
      } else {
        field.append(c)
      }
      i += 1
    }
    if inQuotes {
      throw TrainingError.malformed(
        file: file, offset: quoteStart, expected: "a closing quote for the field opened here",
        found: "end of file")
    }
    if !field.isEmpty || !fields.isEmpty { endRecord(at: bytes.count) }
    guard let header = records.first else {
      throw TrainingError.malformed(file: file, offset: 0, expected: "a header row", found: "empty file")
    }
    for (row, offset) in zip(records.dropFirst(), recordOffsets.dropFirst())
    where row.count != header.count {
      throw TrainingError.malformed(
        file: file, offset: offset, expected: "\(header.count) fields (as in the header)",
        found: "\(row.count) fields")
    }
    return CSVTable(header: header, rows: Array(records.dropFirst()))
  }

  /// The values of the column named `name`, or `invalidArgument` listing the columns.
  public func column(_ name: String) throws -> [String] {
    guard let index = header.firstIndex(of: name) else {
      throw TrainingError.invalidArgument(
        what: "CSV column '\(name)'", message: "not found; columns are \(header.joined(separator: ", "))")
    }
    return rows.map { $0[index] }
  }
}
