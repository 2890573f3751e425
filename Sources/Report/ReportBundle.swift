import Foundation

/// What `prunekit report … -o report.json` writes: the run records the page was made of, in order,
/// with snake_case keys (`RunRecord`'s encoding). `prunekit report report.json` reads it back, so a
/// report can be re-rendered (or merged with more runs) later.
public struct ReportBundle: Codable, Sendable, Equatable {
  public static let schemaName = "prunekit.report"
  public static let currentSchemaVersion = 1

  public var schema: String
  public var schemaVersion: Int
  public var title: String
  public var runs: [RunRecord]

  public init(title: String, runs: [RunRecord]) {
    schema = Self.schemaName
    schemaVersion = Self.currentSchemaVersion
    self.title = title
    self.runs = runs
  }

  public func encoded() throws -> Data {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    encoder.nonConformingFloatEncodingStrategy = .throw
    return try encoder.encode(self)
  }

  /// The runs of a file that is either one run record or a report bundle; anything else is refused
  /// with the path named.
  public static func runs(in path: String) throws -> [RunRecord] {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw RunRecordError(path: path, reason: "cannot read the file")
    }
    struct Header: Decodable { var schema: String? }
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    if let header = try? decoder.decode(Header.self, from: data), header.schema == schemaName {
      do {
        let bundle = try decoder.decode(ReportBundle.self, from: data)
        guard bundle.schemaVersion <= currentSchemaVersion else {
          throw RunRecordError(path: path, reason: "report schema_version \(bundle.schemaVersion) is newer than this PruneKit reads")
        }
        return bundle.runs
      } catch let error as RunRecordError {
        throw error
      } catch {
        throw RunRecordError(path: path, reason: "unreadable report bundle (\(error))")
      }
    }
    return [try RunRecord.decode(data, path: path)]
  }
}
