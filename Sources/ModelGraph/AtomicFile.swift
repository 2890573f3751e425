import Foundation

/// Writes files so that readers see either the old file or the complete new one, never a partial
/// file: the bytes go to a temporary file in the same folder, which is then renamed into place
/// (rename(2) is atomic within one file system).
public enum AtomicFile {
  /// Writes `data` to `path` (temporary file beside it, fsync, rename), throwing
  /// `ModelGraphError.unwritable` naming the path when the folder is missing or a step fails.
  public static func write(_ data: Data, to path: String) throws {
    let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue
    else {
      throw ModelGraphError.unwritable(path: path, reason: "folder \(folder) does not exist")
    }
    try AtomicFileWriter.write(to: path) { sink in try data.withUnsafeBytes { try sink($0) } }
  }
}
