import Foundation
import ModelGraph
import Training

/// A column (or columns) of a CSV file and a range of its records, as written on the command line:
/// `FILE.csv:COLUMN[:ROWS]` (or `FILE.csv:TEXT:LABEL[:ROWS]`). ROWS is `A..B` (inclusive), `A..<B`,
/// `A..` (to the end) or `N` (one record); records are 0-based, the header excluded.
public struct CSVColumnSpec: Sendable, Equatable {
  public var path: String
  public var columns: [String]
  public var rows: Range<Int>?

  /// Parses `argument` for `option` with exactly `columnCount` column names.
  public init(parsing argument: String, option: String, columnCount: Int) throws {
    var parts = argument.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
    let shape = columnCount == 1 ? "FILE.csv:COLUMN[:ROWS]" : "FILE.csv:TEXT:LABEL[:ROWS]"
    guard parts.count == columnCount + 1 || parts.count == columnCount + 2, parts.allSatisfy({ !$0.isEmpty }) else {
      throw TrainingError.invalidArgument(what: option, message: "expected \(shape), found '\(argument)'")
    }
    path = parts.removeFirst()
    columns = Array(parts.prefix(columnCount))
    rows = nil
    if parts.count > columnCount { rows = try Self.range(parts.last!, option: option) }
  }

  static func range(_ text: String, option: String) throws -> Range<Int> {
    func bound(_ s: Substring) throws -> Int {
      guard let v = Int(s), v >= 0 else {
        throw TrainingError.invalidArgument(
          what: option, message: "rows '\(text)': expected A..B, A..<B, A.. or N with 0-based record numbers")
      }
      return v
    }
    if let r = text.range(of: "..<") {
      let (a, b) = (try bound(text[..<r.lowerBound]), try bound(text[r.upperBound...]))
      guard a < b else { throw TrainingError.invalidArgument(what: option, message: "rows '\(text)' are empty") }
      return a..<b
    }
    if let r = text.range(of: "..") {
      let a = try bound(text[..<r.lowerBound])
      if text[r.upperBound...].isEmpty { return a..<Int.max }
      let b = try bound(text[r.upperBound...])
      guard a <= b else { throw TrainingError.invalidArgument(what: option, message: "rows '\(text)' are empty") }
      return a..<(b + 1)
    }
    let n = try bound(Substring(text))
    return n..<(n + 1)
  }

  /// The selected records' values of each column ([column][row]) and their record numbers. Errors
  /// name the file, the column (listing the columns there are), rows outside the file, and empty texts
  /// (in the first column).
  public func read(option: String) throws -> (values: [[String]], records: [Int]) {
    let table = try CSVTable.read(path: path)
    let all = try columns.map { name -> [String] in
      do { return try table.column(name) } catch {
        throw TrainingError.invalidArgument(
          what: option, message: "\(path) has no column '\(name)'; columns are \(table.header.joined(separator: ", "))")
      }
    }
    let count = table.rows.count
    var selected = 0..<count
    if let rows {
      let upper = rows.upperBound == Int.max ? count : rows.upperBound
      guard rows.lowerBound < count, upper <= count else {
        let shown = rows.upperBound == Int.max ? "\(rows.lowerBound).." : "\(rows.lowerBound)..\(rows.upperBound - 1)"
        throw TrainingError.invalidArgument(
          what: option, message: "rows \(shown) are out of range: \(path) has \(count) records (0..\(count - 1))")
      }
      selected = rows.lowerBound..<upper
    }
    for i in selected where all[0][i].trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
      throw TrainingError.invalidArgument(
        what: option, message: "\(path) record \(i): column '\(columns[0])' is empty (texts must not be empty)")
    }
    return (all.map { Array($0[selected]) }, Array(selected))
  }
}

extension WordPieceTokenizer {
  /// The tokenizer of the model at `modelPath`: `folder` when given, else the first of the model's
  /// folder and its parent that holds vocab.txt or tokenizer.json (a Hugging Face folder with the
  /// ONNX export in onnx/).
  public static func forModel(_ modelPath: String, folder: String? = nil) throws -> WordPieceTokenizer {
    try WordPieceTokenizer(folder: folder ?? tokenizerFolder(forModel: modelPath))
  }

  /// The folder holding `modelPath`'s tokenizer (vocab.txt or tokenizer.json): the model's own folder
  /// or its parent (an `onnx/model.onnx` inside a Hugging Face folder).
  public static func tokenizerFolder(forModel modelPath: String) throws -> String {
    var isFolder: ObjCBool = false
    _ = FileManager.default.fileExists(atPath: modelPath, isDirectory: &isFolder)
    var own = isFolder.boolValue ? modelPath : (modelPath as NSString).deletingLastPathComponent
    // A bare file name lives in the working directory (whose parent is then the second candidate).
    if own.isEmpty || own == "." { own = FileManager.default.currentDirectoryPath }
    let candidates = [own.isEmpty ? "." : own, ((own.isEmpty ? "." : own) as NSString).deletingLastPathComponent]
    for c in candidates where ["vocab.txt", "tokenizer.json"].contains(where: {
      FileManager.default.fileExists(atPath: (c as NSString).appendingPathComponent($0))
    }) {
      return c
    }
    throw ModelGraphError.unreadable(
      path: modelPath,
      reason: "no tokenizer (vocab.txt or tokenizer.json) in \(candidates.joined(separator: " or ")); pass --tokenizer DIR")
  }

}
