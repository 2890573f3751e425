import Foundation
import Report

/// A sweep's folder on (shared) disk:
///
///     DIR/sweep.json          the spec, its hash and cell count (`SweepFile`)
///     DIR/cells/<i>.json      cell i's `RunRecord`, written atomically, carrying the spec hash
///     DIR/cells/<i>.failed.json   why cell i failed (removed when it later succeeds)
///
/// Every file is written whole or not at all (temporary file + rename), so many cluster tasks can
/// write into one shared folder: each task writes only its own cell's files.
public struct SweepDirectory: Sendable {
  public let path: String

  public init(_ path: String) { self.path = path }

  public var specPath: String { path + "/sweep.json" }
  public var cellsPath: String { path + "/cells" }
  public func cellPath(_ index: Int) -> String { "\(cellsPath)/\(index).json" }
  public func failurePath(_ index: Int) -> String { "\(cellsPath)/\(index).failed.json" }

  /// The stored sweep, nil when the folder has none yet.
  public func stored() throws -> SweepFile? {
    guard FileManager.default.fileExists(atPath: specPath) else {
      if FileManager.default.fileExists(atPath: cellsPath) {
        throw SweepError.unreadable(
          path: specPath, reason: "missing, but \(cellsPath) exists: not a sweep folder made by prunekit sweep")
      }
      return nil
    }
    guard let data = FileManager.default.contents(atPath: specPath) else {
      throw SweepError.unreadable(path: specPath, reason: "cannot read the file")
    }
    return try SweepFile.decode(data, path: specPath)
  }

  /// The stored sweep, or an error saying how to make one.
  public func requireStored() throws -> SweepFile {
    guard let file = try stored() else {
      throw SweepError.unreadable(
        path: specPath, reason: "no sweep here; make one with prunekit sweep --model M … -o \(path)")
    }
    return file
  }

  /// Stores `spec` in a new folder, or checks that the folder holds the same sweep: a different
  /// spec is refused, naming what differs. Returns the stored file.
  @discardableResult
  public func create(_ spec: SweepSpec) throws -> SweepFile {
    try spec.validate()
    let file = try SweepFile(spec: spec)
    if let existing = try stored() {
      guard existing.specHash == file.specHash else {
        throw SweepError.specMismatch(
          path: specPath, storedHash: existing.specHash, newHash: file.specHash,
          differences: spec.differences(from: existing.spec))
      }
      return existing
    }
    try FileManager.default.createDirectory(atPath: cellsPath, withIntermediateDirectories: true)
    try writeAtomically(try file.encoded(), to: specPath)
    return file
  }

  /// Records why a cell failed (its spec hash included, so a stale marker is not believed).
  public func recordFailure(cell: Int, specHash: String, error: String) throws {
    let failure = SweepFailure(specHash: specHash, cell: cell, error: error)
    try writeAtomically(try SweepFile.encoder().encode(failure), to: failurePath(cell))
  }

  /// Writes a finished cell's record and removes an earlier failure marker.
  public func writeCell(_ record: RunRecord, cell: Int) throws {
    try record.write(to: cellPath(cell))
    try? FileManager.default.removeItem(atPath: failurePath(cell))
  }
}

/// DIR/sweep.json.
public struct SweepFile: Codable, Sendable, Equatable {
  public static let schemaName = "prunekit.sweep"
  public static let currentSchemaVersion = 1

  public var schema: String
  public var schemaVersion: Int
  /// SHA-256 of the spec's canonical JSON (`SweepSpec.hash()`).
  public var specHash: String
  public var cellCount: Int
  public var spec: SweepSpec

  public init(spec: SweepSpec) throws {
    schema = Self.schemaName
    schemaVersion = Self.currentSchemaVersion
    specHash = try spec.hash()
    cellCount = spec.cellCount
    self.spec = spec
  }

  static func encoder() -> JSONEncoder {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.nonConformingFloatEncodingStrategy = .throw
    return encoder
  }

  public func encoded() throws -> Data { try Self.encoder().encode(self) }

  /// Reads sweep.json, refusing another schema, a newer version, or a spec edited by hand (its hash
  /// no longer matches).
  public static func decode(_ data: Data, path: String) throws -> SweepFile {
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    struct Header: Decodable { var schema: String?; var schemaVersion: Int? }
    guard let header = try? decoder.decode(Header.self, from: data) else {
      throw SweepError.unreadable(path: path, reason: "not a JSON object (expected a \(schemaName) file)")
    }
    guard header.schema == schemaName, let version = header.schemaVersion,
      (1...currentSchemaVersion).contains(version)
    else {
      throw SweepError.unreadable(
        path: path,
        reason: "schema \(header.schema ?? "missing") version \(header.schemaVersion.map(String.init) ?? "missing"), "
          + "expected \(schemaName) version 1...\(currentSchemaVersion)")
    }
    let file: SweepFile
    do {
      file = try decoder.decode(SweepFile.self, from: data)
    } catch {
      throw SweepError.unreadable(path: path, reason: "unreadable sweep spec (\(error))")
    }
    let hash = try file.spec.hash()
    guard hash == file.specHash else {
      throw SweepError.unreadable(
        path: path,
        reason: "spec_hash \(file.specHash.prefix(12)) does not match the spec (\(hash.prefix(12))): edited by hand?")
    }
    return file
  }
}

/// DIR/cells/<i>.failed.json: the error that ended cell i.
public struct SweepFailure: Codable, Sendable, Equatable {
  public var schema = "prunekit.sweep.failure"
  public var specHash: String
  public var cell: Int
  public var error: String
}
