import Foundation
import ModelGraph
import Synchronization

/// A string-keyed table of measured values kept in one JSON file, shared by the kernel-choice and
/// layer-cost caches. A file that cannot be read is ignored (and rewritten on the next store), never an
/// error: a cache only saves time. Every store rewrites the file atomically.
final class JSONFileCache<Value: Codable & Sendable>: Sendable {
  let path: String?
  private let entries: Mutex<[String: Value]>

  init(path: String?) {
    self.path = path
    var loaded: [String: Value] = [:]
    if let path, let data = FileManager.default.contents(atPath: path),
      let decoded = try? JSONDecoder().decode([String: Value].self, from: data)
    {
      loaded = decoded
    }
    entries = Mutex(loaded)
  }

  func lookup(_ key: String) -> Value? { entries.withLock { $0[key] } }

  func store(_ key: String, _ value: Value) {
    let snapshot = entries.withLock { entries -> [String: Value] in
      entries[key] = value
      return entries
    }
    guard let path else { return }
    let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
    try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
    if let data = try? encoder.encode(snapshot) { try? AtomicFile.write(data, to: path) }
  }
}
