import Foundation

/// Writes files so that readers see either the old file or the complete new one, never a partial
/// file: the bytes go to a temporary file in the same folder, which is then renamed into place
/// (rename(2) is atomic within one file system).
enum AtomicFile {
  static func write(_ data: Data, to path: String) throws {
    let url = URL(fileURLWithPath: path)
    let folder = url.deletingLastPathComponent().path
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue
    else {
      throw ModelGraphError.unreadable(path: path, reason: "cannot write: folder \(folder) does not exist")
    }
    let suffix = "\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))"
    let temporary = url.deletingLastPathComponent()
      .appendingPathComponent(".\(url.lastPathComponent).tmp-\(suffix)")
    do {
      try data.write(to: temporary)
    } catch {
      try? FileManager.default.removeItem(at: temporary)
      throw ModelGraphError.unreadable(path: path, reason: "cannot write \(temporary.path): \(error)")
    }
    guard rename(temporary.path, path) == 0 else {
      let reason = String(cString: strerror(errno))
      try? FileManager.default.removeItem(at: temporary)
      throw ModelGraphError.unreadable(
        path: path, reason: "cannot rename the temporary file into place: \(reason)")
    }
  }
}
