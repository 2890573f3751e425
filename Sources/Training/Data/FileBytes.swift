import CZlib
import ModelGraph
import TensorCore

#if canImport(Glibc)
  import Glibc
#endif

/// Reading whole files, gzipped or not, through zlib's `gzread` (RFC 1952 inflate; a file without
/// the gzip header is read as it is, so one function serves `x.idx3-ubyte` and `x.idx3-ubyte.gz`).
public enum FileBytes {
  /// Largest file `read` returns by default: 4 GiB (MNIST's training images are 47 MB).
  public static let defaultLimit = 4 << 30

  /// True when `path` names an existing regular file.
  public static func exists(_ path: String) -> Bool {
    var info = stat()
    return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
  }

  /// True when `path` names an existing directory.
  public static func isDirectory(_ path: String) -> Bool {
    var info = stat()
    return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
  }

  /// The file's bytes, inflated if it is gzip. Throws `fileNotFound` or `unreadable` (with the
  /// uncompressed offset reached) on a missing, truncated or corrupt file.
  ///
  /// `limit` bounds the bytes after inflation (a small gzip "bomb" can claim terabytes).
  public static func read(_ path: String, limit: Int = defaultLimit) throws -> [UInt8] {
    guard exists(path) else { throw TrainingError.fileNotFound(path: path, hint: "") }
    guard let file = gzopen(path, "rb") else {
      throw TrainingError.unreadable(path: path, offset: 0, reason: "gzopen failed (errno \(errno))")
    }
    defer { gzclose(file) }
    var result: [UInt8] = []
    let chunk = 1 << 20
    var buffer = [UInt8](repeating: 0, count: chunk)
    while true {
      let n = buffer.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32(chunk)) }
      if n < 0 {
        var code: Int32 = 0
        let message = gzerror(file, &code).map { String(cString: $0) } ?? "zlib error \(code)"
        throw TrainingError.unreadable(path: path, offset: result.count, reason: message)
      }
      if n == 0 { break }
      guard result.count + Int(n) <= limit else {
        throw TrainingError.unreadable(
          path: path, offset: result.count,
          reason: "more than \(limit) bytes (after gunzip); PruneKit reads data files of at most that size")
      }
      result.append(contentsOf: buffer[0..<Int(n)])
    }
    // gzread returns 0 at a truncated stream too; gzerror tells the two apart.
    var code: Int32 = 0
    let message = gzerror(file, &code)
    if code != Z_OK && code != Z_STREAM_END {
      let text = message.map { String(cString: $0) } ?? "zlib error \(code)"
      throw TrainingError.unreadable(path: path, offset: result.count, reason: text)
    }
    return result
  }
}
