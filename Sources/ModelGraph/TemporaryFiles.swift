import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The temporary files of atomic writes: how they are named, which are being written now, and the
/// removal of those a killed run left behind.
///
/// Name: `.<file name>.prunekit-tmp-<host>-<pid>-XXXXXX` beside the destination, e.g.
/// `.model.onnx.prunekit-tmp-node7-4242-a81XkQ`. A leftover is removed by the next write to the same
/// destination when its writer is gone:
///
/// | leftover | removed when |
/// |---|---|
/// | this host, process `pid` no longer running | always |
/// | another host (shared storage) | older than `foreignAge` |
/// | `.<file name>.tmp-XXXXXX` (PruneKit before this naming) | older than `legacyAge` |
///
/// The CLI removes the files `active` lists when it gets SIGINT or SIGTERM (`removeActive()`); a
/// `kill -9` cannot be caught, and its leftover goes at the next write.
public enum TemporaryFiles {
  public static let marker = ".prunekit-tmp-"
  /// Seconds after which a leftover of another host is treated as abandoned.
  public static let foreignAge: TimeInterval = 24 * 3600
  /// Seconds after which a leftover with the old name (no host, no pid) is treated as abandoned.
  public static let legacyAge: TimeInterval = 3600

  private final class Registry: @unchecked Sendable {
    let lock = NSLock()
    var paths: Set<String> = []
  }
  private static let registry = Registry()

  /// Temporary files being written by this process now.
  public static var active: [String] {
    registry.lock.lock()
    defer { registry.lock.unlock() }
    return registry.paths.sorted()
  }

  static func register(_ path: String) {
    registry.lock.lock()
    registry.paths.insert(path)
    registry.lock.unlock()
  }

  static func unregister(_ path: String) {
    registry.lock.lock()
    registry.paths.remove(path)
    registry.lock.unlock()
  }

  /// Removes every temporary file this process is writing (for a signal handler: the write in
  /// progress will fail, which is what an interrupted run should do), or only those inside `folder`
  /// when one is given. Returns the removed paths.
  @discardableResult
  public static func removeActive(inside folder: String? = nil) -> [String] {
    registry.lock.lock()
    let paths = registry.paths.filter { path in folder.map { path.hasPrefix($0 + "/") } ?? true }
    registry.paths.subtract(paths)
    registry.lock.unlock()
    return paths.filter { unlink($0) == 0 }.sorted()
  }

  /// mkstemp template for a temporary file beside `path`.
  static func template(for path: String) -> String {
    "\(folder(of: path))/\(prefix(for: path))\(hostTag)-\(getpid())-XXXXXX"
  }

  static func folder(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    let folder = String(path[..<slash])
    return folder.isEmpty ? "/" : folder
  }

  static func baseName(of path: String) -> String {
    path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path
  }

  /// `.<file name>.prunekit-tmp-`
  static func prefix(for path: String) -> String { ".\(baseName(of: path))\(marker)" }

  /// The host name reduced to letters, digits and '-' (at most 32), so that names stay portable.
  public static let hostTag: String = {
    var buffer = [CChar](repeating: 0, count: 256)
    gethostname(&buffer, buffer.count - 1)
    let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let kept = name.unicodeScalars.map { scalar -> Character in
      let c = Character(scalar)
      return c.isASCII && (c.isLetter || c.isNumber) ? c : "_"
    }
    let tag = String(kept.prefix(32))
    return tag.isEmpty ? "host" : tag
  }()

  /// Leftover temporary files of `path` (any writer), with whether they are abandoned.
  public static func leftovers(for path: String, now: Date = Date()) -> [(path: String, abandoned: Bool)] {
    let folder = folder(of: path)
    let base = baseName(of: path)
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
    var result: [(String, Bool)] = []
    for name in names {
      let full = "\(folder)/\(name)"
      if name.hasPrefix(prefix(for: path)) {
        let rest = name.dropFirst(prefix(for: path).count)  // host-pid-XXXXXX
        let parts = rest.split(separator: "-")
        guard parts.count == 3, let pid = Int32(parts[1]) else { continue }
        if parts[0] == hostTag {
          result.append((full, pid != getpid() && !isRunning(pid)))
        } else {
          result.append((full, age(of: full, now: now) > foreignAge))
        }
      } else if name.hasPrefix(".\(base).tmp-"), name.count == base.count + 12 {
        result.append((full, age(of: full, now: now) > legacyAge))
      }
    }
    return result.sorted { $0.0 < $1.0 }
  }

  /// Removes the abandoned leftovers of `path`; returns their paths.
  @discardableResult
  public static func removeStale(for path: String) -> [String] {
    leftovers(for: path).filter { $0.abandoned && unlink($0.path) == 0 }.map(\.path)
  }

  private static func isRunning(_ pid: Int32) -> Bool {
    kill(pid, 0) == 0 || errno == EPERM
  }

  private static func age(of path: String, now: Date) -> TimeInterval {
    guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
      let modified = attributes[.modificationDate] as? Date
    else { return 0 }
    return now.timeIntervalSince(modified)
  }
}
