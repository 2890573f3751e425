import Foundation

/// Writes a model as a Hugging Face folder, the way `optimum-cli` users expect one: `config.json`,
/// `model.safetensors` and the tokenizer files of the folder the model came from.
///
/// | file | content |
/// |---|---|
/// | `model.safetensors` | `SafeTensorsGraph.write`: the weights under their checkpoint names, the graph in `__metadata__` |
/// | `config.json` | the source's, with `pruned_heads` ({"layer": [head, …]}) added for removed attention heads, which transformers applies before loading the weights |
/// | tokenizer and sentence-transformers files | copied unchanged (`tokenizer.json`, `vocab.txt`, `modules.json`, `1_Pooling/`, …; see `isCarried`) |
///
/// The folder is built beside the destination under a temporary name and renamed into place, so a
/// failed write leaves no half-written folder (and an earlier folder at the destination as it was).
public enum HuggingFaceFolder {
  /// Whether a file of the source folder is carried over: tokenizer and sentence-transformers files
  /// (pooling folders such as `1_Pooling`). Other weight formats, exports and reference outputs
  /// would contradict the pruned weights and are left behind.
  static func isCarried(_ name: String) -> Bool {
    let exact: Set<String> = [
      "vocab.txt", "vocab.json", "merges.txt", "special_tokens_map.json", "added_tokens.json", "spiece.model",
      "sentencepiece.bpe.model", "modules.json", "sentence_bert_config.json", "config_sentence_transformers.json",
      "generation_config.json",
    ]
    if exact.contains(name) || name.hasPrefix("tokenizer") { return true }
    // sentence-transformers module folders: 1_Pooling, 2_Normalize, …
    guard let underscore = name.firstIndex(of: "_") else { return false }
    return !name[..<underscore].isEmpty && name[..<underscore].allSatisfy(\.isNumber)
  }

  /// The Hugging Face folder `graph` was loaded from (its `metadata["source"]`), if it is one.
  public static func sourceFolder(of graph: Graph) -> String? {
    guard let source = graph.metadata["source"] else { return nil }
    var isFolder: ObjCBool = false
    let folder =
      FileManager.default.fileExists(atPath: source, isDirectory: &isFolder) && isFolder.boolValue
      ? source : (source as NSString).deletingLastPathComponent
    let config = ((folder.isEmpty ? "." : folder) as NSString).appendingPathComponent("config.json")
    return FileManager.default.fileExists(atPath: config) ? (folder.isEmpty ? "." : folder) : nil
  }

  /// Writes `graph` as a folder at `path`; `prunedHeads` maps an encoder layer index to the heads
  /// removed from it (indices of the original model). `source` is the Hugging Face folder whose
  /// config and tokenizer files are carried over.
  public static func write(_ graph: Graph, to path: String, source: String, prunedHeads: [Int: [Int]] = [:])
    throws
  {
    let fm = FileManager.default
    let parent = TemporaryFiles.folder(of: path)
    let temporary = "\(parent)/\(TemporaryFiles.prefix(for: path))\(TemporaryFiles.hostTag)-\(getpid())-dir"
    try? fm.removeItem(atPath: temporary)
    do {
      try fm.createDirectory(atPath: temporary, withIntermediateDirectories: false)
    } catch {
      throw ModelGraphError.unwritable(path: path, reason: "cannot create a folder in \(parent): \(error)")
    }
    TemporaryFiles.register(temporary)
    defer {
      TemporaryFiles.unregister(temporary)
      try? fm.removeItem(atPath: temporary)
    }
    try SafeTensorsGraph.write(graph, to: temporary + "/model.safetensors")
    try writeConfig(from: source + "/config.json", to: temporary + "/config.json", prunedHeads: prunedHeads)
    for name in try fm.contentsOfDirectory(atPath: source).sorted() where isCarried(name) {
      try fm.copyItem(atPath: source + "/" + name, toPath: temporary + "/" + name)
    }
    try makeOwnerWritable(temporary)
    try replace(path, with: temporary)
  }

  /// `config.json` with `pruned_heads` merged in (layer index as a string key, as transformers saves it).
  static func writeConfig(from source: String, to destination: String, prunedHeads: [Int: [Int]]) throws {
    guard let data = FileManager.default.contents(atPath: source),
      var config = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    else {
      throw ModelGraphError.unreadable(path: source, reason: "expected a JSON object (a Hugging Face config)")
    }
    if !prunedHeads.isEmpty {
      var merged = config["pruned_heads"] as? [String: [Int]] ?? [:]
      for (layer, heads) in prunedHeads where !heads.isEmpty {
        merged[String(layer)] = Array(Set(merged[String(layer)] ?? []).union(heads)).sorted()
      }
      config["pruned_heads"] = merged
    }
    let out = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
    try out.write(to: URL(fileURLWithPath: destination))
  }

  /// Copies keep the source's modes; a read-only copy (a shared, read-only model folder) could not
  /// be replaced by the next write, so the owner gets write permission on everything written.
  static func makeOwnerWritable(_ folder: String) throws {
    let fm = FileManager.default
    var paths = [folder]
    if let items = fm.enumerator(atPath: folder) { paths += items.compactMap { $0 as? String }.map { folder + "/" + $0 } }
    for path in paths {
      var isFolder: ObjCBool = false
      guard fm.fileExists(atPath: path, isDirectory: &isFolder) else { continue }
      try fm.setAttributes([.posixPermissions: isFolder.boolValue ? 0o755 : 0o644], ofItemAtPath: path)
    }
  }

  /// Moves `temporary` to `path`; a folder already at `path` must be a model folder (it has
  /// `model.safetensors` or `config.json`) or empty, and is replaced only once the new one is complete.
  static func replace(_ path: String, with temporary: String) throws {
    let fm = FileManager.default
    var isFolder: ObjCBool = false
    if fm.fileExists(atPath: path, isDirectory: &isFolder) {
      guard isFolder.boolValue else {
        throw ModelGraphError.unwritable(path: path, reason: "is a file; a Hugging Face output is a folder")
      }
      let names = (try? fm.contentsOfDirectory(atPath: path)) ?? []
      guard names.isEmpty || names.contains("model.safetensors") || names.contains("config.json") else {
        throw ModelGraphError.unwritable(
          path: path, reason: "is a folder that holds no model; PruneKit only replaces model folders")
      }
      let old = temporary + "-old"
      try fm.moveItem(atPath: path, toPath: old)
      do { try fm.moveItem(atPath: temporary, toPath: path) } catch {
        try? fm.moveItem(atPath: old, toPath: path)
        throw ModelGraphError.unwritable(path: path, reason: "cannot rename the new folder into place: \(error)")
      }
      try? fm.removeItem(atPath: old)
    } else {
      do { try fm.moveItem(atPath: temporary, toPath: path) } catch {
        throw ModelGraphError.unwritable(path: path, reason: "cannot rename the new folder into place: \(error)")
      }
    }
  }
}
