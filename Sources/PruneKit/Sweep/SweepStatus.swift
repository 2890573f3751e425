import Foundation
import Report

/// What is in a sweep folder, cell by cell, and which cells still need a run.
public struct SweepStatus: Codable, Sendable, Equatable {
  public enum State: String, Codable, Sendable, CaseIterable {
    /// A complete record of this sweep and this cell.
    case done
    /// The cell ran and failed; DIR/cells/<i>.failed.json says why.
    case failed
    /// No file at all (never run, or the task died before writing).
    case missing
    /// A write that did not finish: a leftover temporary file, or a truncated record.
    case partial
    /// A file that is not a run record of this cell (garbage, another schema, another cell index).
    case corrupt
    /// A run record of another sweep (its spec hash differs), or of no sweep.
    case foreign
  }

  public struct Cell: Codable, Sendable, Equatable {
    public var index: Int
    public var state: State
    public var point: SweepPoint
    /// Why it is not done (the error, the reason it cannot be read), nil when done or missing.
    public var detail: String?
  }

  public var directory: String
  public var specHash: String
  public var cellCount: Int
  public var cells: [Cell]

  /// Cells to (re)run: everything not done.
  public var notDone: [Int] { cells.filter { $0.state != .done }.map(\.index) }

  public func count(_ state: State) -> Int { cells.filter { $0.state == state }.count }

  /// Scans DIR: every cell of the stored sweep, classified.
  public init(directory: SweepDirectory) throws {
    let file = try directory.requireStored()
    self.directory = directory.path
    specHash = file.specHash
    cellCount = file.cellCount
    let names = Set((try? FileManager.default.contentsOfDirectory(atPath: directory.cellsPath)) ?? [])
    cells = try (0..<file.cellCount).map { index in
      let (state, detail) = Self.classify(cell: index, in: directory, specHash: file.specHash, names: names)
      return Cell(index: index, state: state, point: try file.spec.point(ofCell: index), detail: detail)
    }
  }

  static func classify(cell index: Int, in directory: SweepDirectory, specHash: String, names: Set<String>)
    -> (State, String?)
  {
    let name = "\(index).json"
    guard names.contains(name) else {
      if names.contains("\(index).failed.json"),
        let data = FileManager.default.contents(atPath: directory.failurePath(index)),
        let failure = try? SweepFile.decoder().decode(SweepFailure.self, from: data),
        failure.specHash == specHash, failure.cell == index
      {
        return (.failed, failure.error)
      }
      if names.contains(where: { $0.hasPrefix(".\(name).tmp-") }) {
        return (.partial, "a temporary file of an unfinished write (the task was stopped while writing)")
      }
      return (.missing, nil)
    }
    let path = directory.cellPath(index)
    guard let data = FileManager.default.contents(atPath: path) else { return (.corrupt, "cannot read \(path)") }
    if Self.looksTruncated(data) { return (.partial, "\(path): truncated (\(data.count) bytes, JSON ends early)") }
    let record: RunRecord
    do {
      record = try RunRecord.decode(data, path: path)
    } catch {
      return (.corrupt, "\(error)")
    }
    guard let sweep = record.sweep else { return (.foreign, "\(path): a run record of no sweep") }
    guard sweep.specHash == specHash else {
      return (.foreign, "\(path): a cell of another sweep (spec hash \(sweep.specHash.prefix(12)))")
    }
    guard sweep.cell == index else { return (.corrupt, "\(path): the record says cell \(sweep.cell)") }
    return (.done, nil)
  }

  /// Empty, or a JSON object whose brackets are still open at the end of the bytes: a write cut short.
  static func looksTruncated(_ data: Data) -> Bool {
    var depth = 0
    var inString = false
    var escaped = false
    var sawOpen = false
    for byte in data {
      if inString {
        if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
        continue
      }
      switch byte {
      case UInt8(ascii: "\""): inString = true
      case UInt8(ascii: "{"), UInt8(ascii: "["):
        depth += 1
        sawOpen = true
      case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
      default: break
      }
    }
    return data.isEmpty || (sawOpen && (depth > 0 || inString))
  }

  /// Slurm's `--array` syntax for indices: ranges of consecutive cells, "0-3,7,9-10".
  public static func arrayList(_ indices: [Int]) -> String {
    var parts: [String] = []
    var i = 0
    let sorted = indices.sorted()
    while i < sorted.count {
      var j = i
      while j + 1 < sorted.count && sorted[j + 1] == sorted[j] + 1 { j += 1 }
      parts.append(i == j ? "\(sorted[i])" : "\(sorted[i])-\(sorted[j])")
      i = j + 1
    }
    return parts.joined(separator: ",")
  }
}

extension SweepFile {
  static func decoder() -> JSONDecoder {
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return decoder
  }
}
