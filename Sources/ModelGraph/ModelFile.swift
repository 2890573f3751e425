import Foundation

/// Loads and saves models, choosing the format by file extension.
///
/// | extension | load | save |
/// |---|---|---|
/// | `.onnx` | `ONNXImporter.load(contentsOf:)` | `ONNXExporter.save(_:to:)` |
/// | `.safetensors` (config.json beside it) or a Hugging Face folder | `BertLoader.load(from:)` | the initializers, `SafeTensorsWriter` |
///
/// To add a format, add one entry to `formats` (e.g. `.safetensors` with its config.json).
public enum ModelFile {
  struct Format: Sendable {
    var name: String
    var load: @Sendable (String) throws -> Graph
    var save: @Sendable (Graph, String) throws -> Void
  }

  /// Lower-cased extension (without the dot) → format.
  static let formats: [String: Format] = [
    "onnx": Format(
      name: "ONNX", load: { try ONNXImporter.load(contentsOf: $0) },
      save: { try ONNXExporter.save($0, to: $1) }),
    "safetensors": Format(
      name: "safetensors", load: { try BertLoader.load(from: $0) },
      save: { try SafeTensorsWriter.write(graph: $0, to: $1) }),
  ]

  /// The extensions `load`/`save` understand, sorted ("onnx", …).
  public static var knownExtensions: [String] { formats.keys.sorted() }

  public static func load(_ path: String) throws -> Graph {
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
      throw ModelGraphError.fileNotFound(path: path)
    }
    if isFolder.boolValue { return try BertLoader.load(from: path) }  // Hugging Face folder
    return try format(of: path).load(path)
  }

  /// Writes `graph` to `path` atomically in the format its extension names.
  public static func save(_ graph: Graph, to path: String) throws {
    try format(of: path).save(graph, path)
  }

  static func format(of path: String) throws -> Format {
    let ext = (path as NSString).pathExtension.lowercased()
    guard let format = formats[ext] else {
      let known = knownExtensions.map { ".\($0)" }.joined(separator: ", ")
      throw ModelGraphError.unreadable(
        path: path, reason: "unknown model format '.\(ext)'; known: \(known)")
    }
    return format
  }
}
