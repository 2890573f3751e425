import Foundation

/// Loads and saves models, choosing the format by file extension.
///
/// | extension | load | save |
/// |---|---|---|
/// | `.onnx` | `ONNXImporter.load(contentsOf:)` | `ONNXExporter.save(_:to:)` |
/// | `.safetensors` carrying its graph, or with a BERT config.json beside it; a Hugging Face folder | `SafeTensorsGraph.read`, else `BertLoader.load(from:)` | `SafeTensorsGraph.write`: the initializers as tensors, the graph in `__metadata__` |
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
      name: "safetensors", load: { try loadSafeTensors($0) },
      save: { try SafeTensorsGraph.write($0, to: $1) }),
  ]

  /// The extensions `load`/`save` understand, sorted ("onnx", …).
  public static var knownExtensions: [String] { formats.keys.sorted() }

  public static func load(_ path: String) throws -> Graph {
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
      throw ModelGraphError.fileNotFound(path: path)
    }
    if isFolder.boolValue {  // Hugging Face folder: model.safetensors (+ config.json)
      let weights = (path as NSString).appendingPathComponent("model.safetensors")
      if FileManager.default.fileExists(atPath: weights),
        SafeTensorsGraph.carriesGraph(try SafeTensorsFile(path: weights))
      {
        return try SafeTensorsGraph.read(SafeTensorsFile(path: weights))
      }
      return try BertLoader.load(from: path)
    }
    return try format(of: path).load(path)
  }

  /// A safetensors file that carries its graph (written by PruneKit), else a BERT checkpoint with
  /// config.json beside it.
  static func loadSafeTensors(_ path: String) throws -> Graph {
    let file = try SafeTensorsFile(path: path)
    if SafeTensorsGraph.carriesGraph(file) { return try SafeTensorsGraph.read(file) }
    return try BertLoader.load(from: path)
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
