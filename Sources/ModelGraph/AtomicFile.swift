import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Writes files so that readers see either the old file or the complete new one, never a partial
/// file: the bytes go to a temporary file in the same folder, which is then renamed into place
/// (rename(2) is atomic within one file system).
public enum AtomicFile {
  /// Writes `data` to `path` (temporary file beside it, fsync, rename), throwing
  /// `ModelGraphError.unwritable` naming the path when the folder is missing or a step fails.
  public static func write(_ data: Data, to path: String) throws {
    try AtomicFileWriter.write(to: path) { sink in try data.withUnsafeBytes { try sink($0) } }
  }
}

/// Writes a file under a temporary name in the target's folder, fsyncs it, then renames it into
/// place, so that a failure leaves any earlier file at `path` untouched.
///
/// Before writing, the destination is checked (`OutputPath.problem`): a device, FIFO, socket or
/// folder at `path` is never replaced. Leftovers of earlier runs that were killed (`TemporaryFiles`)
/// are removed first; the new temporary file is registered so that a signal handler can remove it.
enum AtomicFileWriter {
  static func write(
    to path: String,
    _ body: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void
  ) throws {
    if let reason = OutputPath.problem(path) { throw ModelGraphError.unwritable(path: path, reason: reason) }
    TemporaryFiles.removeStale(for: path)
    let folder = TemporaryFiles.folder(of: path)
    var template = Array(TemporaryFiles.template(for: path).utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    guard fd >= 0 else {
      throw ModelGraphError.unwritable(
        path: path, reason: "cannot create a temporary file in \(folder): \(errnoText())")
    }
    let tempPath = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    TemporaryFiles.register(tempPath)
    defer { TemporaryFiles.unregister(tempPath) }
    var closed = false
    do {
      try body { chunk in
        var done = 0
        while done < chunk.count {
          let n = systemWrite(fd, chunk.baseAddress! + done, chunk.count - done)
          guard n > 0 else {
            throw ModelGraphError.unwritable(path: path, reason: "write to \(tempPath) failed: \(errnoText())")
          }
          done += n
        }
      }
      guard fsync(fd) == 0 else {
        throw ModelGraphError.unwritable(path: path, reason: "fsync of \(tempPath) failed: \(errnoText())")
      }
      closed = true
      guard close(fd) == 0 else {
        throw ModelGraphError.unwritable(path: path, reason: "close of \(tempPath) failed: \(errnoText())")
      }
      fchmodDefault(tempPath)
      guard rename(tempPath, path) == 0 else {
        throw ModelGraphError.unwritable(path: path, reason: "rename from \(tempPath) failed: \(errnoText())")
      }
    } catch {
      if !closed { close(fd) }
      unlink(tempPath)
      throw error
    }
  }

  private static func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
      return Glibc.write(fd, buffer, count)
    #else
      return Darwin.write(fd, buffer, count)
    #endif
  }

  /// mkstemp creates mode 0600; give the file the usual 0644 less the process umask.
  private static func fchmodDefault(_ path: String) {
    let mask = umask(0)
    umask(mask)
    chmod(path, 0o666 & ~mask)
  }

  static func errnoText() -> String { String(cString: strerror(errno)) }
}
