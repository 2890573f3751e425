import Foundation

/// What a cluster job of a sweep asks for: per-task resources and how many tasks run at once,
/// plus the scheduler-specific pieces (Slurm partition; Kubernetes image, volume, retries).
public struct SweepJobOptions: Sendable, Equatable {
  /// Job name (Slurm `--job-name`; Kubernetes: lowercased to a DNS label, the spec hash appended).
  public var name = "prunekit-sweep"
  /// Tasks running at once: Slurm's `%P` throttle, Kubernetes `parallelism`; nil: all cells.
  public var parallel: Int?
  public var cpusPerTask = 1
  /// Memory per task in mebibytes.
  public var memoryMiB = 4096
  /// Wall-clock limit per task in seconds.
  public var timeSeconds = 3600
  /// Slurm partition; nil: the cluster's default.
  public var partition: String?
  /// The command the task runs (a path on the nodes, or the name on their PATH).
  public var executable = "prunekit"
  /// Kubernetes: the container image holding `executable`.
  public var image = "prunekit:latest"
  /// Kubernetes: the PersistentVolumeClaim of the shared folder, and where it is mounted (the
  /// task's working directory: the sweep folder, model and data paths are read relative to it).
  public var volumeClaim = "prunekit-sweeps"
  public var mountPath = "/work"
  /// Kubernetes: retries of one failed index before it counts as failed (`backoffLimitPerIndex`).
  public var retriesPerCell = 2

  public init() {}

  /// "4G", "512M", "4096" (MiB) → MiB; nil for anything else.
  public static func parseMemory(_ text: String) -> Int? {
    let units: [(String, Int)] = [("T", 1 << 20), ("G", 1 << 10), ("M", 1)]
    let upper = text.uppercased()
    for (suffix, scale) in units where upper.hasSuffix(suffix) {
      return Int(upper.dropLast()).flatMap { $0 > 0 ? $0 * scale : nil }
    }
    return Int(upper).flatMap { $0 > 0 ? $0 : nil }
  }

  /// Slurm's time forms: "MM", "HH:MM:SS", "D-HH:MM:SS" (also "MM:SS", "D-HH", "D-HH:MM") → seconds.
  public static func parseTime(_ text: String) -> Int? {
    var days = 0
    var rest = Substring(text)
    if let dash = rest.firstIndex(of: "-") {
      guard let d = Int(rest[..<dash]), d >= 0 else { return nil }
      days = d
      rest = rest[rest.index(after: dash)...]
    }
    let parts = rest.split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
    guard !parts.isEmpty, parts.count <= 3, parts.allSatisfy({ ($0 ?? -1) >= 0 }) else { return nil }
    let p = parts.map { $0! }
    let seconds: Int
    if text.contains("-") {  // D-HH, D-HH:MM, D-HH:MM:SS
      seconds = p[0] * 3600 + (p.count > 1 ? p[1] * 60 : 0) + (p.count > 2 ? p[2] : 0)
    } else {  // MM, MM:SS, HH:MM:SS
      switch p.count {
      case 1: seconds = p[0] * 60
      case 2: seconds = p[0] * 60 + p[1]
      default: seconds = p[0] * 3600 + p[1] * 60 + p[2]
      }
    }
    let total = days * 86_400 + seconds
    return total > 0 ? total : nil
  }

  /// Seconds as Slurm's "D-HH:MM:SS" (days only when ≥ 1).
  static func slurmTime(_ seconds: Int) -> String {
    let (d, h, m, s) = (seconds / 86_400, seconds % 86_400 / 3600, seconds % 3600 / 60, seconds % 60)
    let clock = String(format: "%02d:%02d:%02d", h, m, s)
    return d > 0 ? "\(d)-\(clock)" : clock
  }
}
