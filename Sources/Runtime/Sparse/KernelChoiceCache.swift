import Foundation
import ModelGraph
import TensorCore

/// Measured kernel choices, kept per CPU model in `$XDG_CACHE_HOME/prunekit/kernel-choices.json`
/// (or `~/.cache/prunekit/…`; `PRUNEKIT_CACHE_DIR` overrides the folder). A choice depends on the CPU,
/// the layer's shape and sparsity (to 1 %), the rows, the threads and the candidates; a file that
/// cannot be read is ignored (and rewritten), never an error: the cache only saves time.
public final class KernelChoiceCache: Sendable {
  public static let shared = KernelChoiceCache(path: KernelChoiceCache.defaultPath)

  private let file: JSONFileCache<LinearKernel>
  public var path: String? { file.path }

  public init(path: String?) { file = JSONFileCache(path: path) }

  static var defaultPath: String? {
    let env = ProcessInfo.processInfo.environment
    let folder: String
    if let dir = env["PRUNEKIT_CACHE_DIR"], !dir.isEmpty {
      folder = dir
    } else if let xdg = env["XDG_CACHE_HOME"], !xdg.isEmpty {
      folder = xdg + "/prunekit"
    } else if let home = env["HOME"], !home.isEmpty {
      folder = home + "/.cache/prunekit"
    } else {
      return nil
    }
    return folder + "/kernel-choices.json"
  }

  /// The CPU's model name from /proc/cpuinfo ("unknown CPU" when unreadable).
  public static let cpuModel: String = {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else {
      return "unknown CPU"
    }
    for line in text.split(separator: "\n") where line.hasPrefix("model name") {
      if let colon = line.firstIndex(of: ":") {
        return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
      }
    }
    return "unknown CPU"
  }()

  /// Raised whenever the way candidates are timed changes, so that choices made the old way are not
  /// reused (2: one-row dense layers timed as the GEMV the executor runs, not a packed GEMM).
  public static let timingRevision = 2

  static func key(
    op: String, m: Int, k: Int, n: Int, sparsity: Double, candidates: [LinearKernel], threads: Int,
    inputs: String
  ) -> String {
    let percent = Int((sparsity * 100).rounded())
    return "\(cpuModel)|\(CPUFeatures.kernel)|r\(timingRevision)|\(op)|\(m)x\(k)x\(n)|\(percent)%|"
      + "\(candidates.map(\.description).joined(separator: ","))|\(threads)T|\(inputs)"
  }

  func lookup(_ key: String) -> LinearKernel? { file.lookup(key) }

  func store(_ key: String, _ kernel: LinearKernel) { file.store(key, kernel) }
}
