import Foundation

/// The process's resident memory from Linux's /proc (nil elsewhere): the current size and the peak
/// since the last `resetPeak()` (VmHWM, reset by writing 5 to /proc/self/clear_refs), so that a
/// phase's peak (e.g. pruning, after the model is loaded) can be told apart from loading's.
public enum ProcessMemory {
  /// Resets the peak resident size to the current one; false when the kernel does not allow it.
  @discardableResult
  public static func resetPeak() -> Bool {
    guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
    defer { try? handle.close() }
    do {
      try handle.write(contentsOf: Data("5".utf8))
      return true
    } catch {
      return false
    }
  }

  /// Peak resident bytes (VmHWM) since the process started or since `resetPeak()`.
  public static var peakBytes: Int? { field("VmHWM:") }
  /// Current resident bytes (VmRSS).
  public static var residentBytes: Int? { field("VmRSS:") }

  static func field(_ name: String) -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix(name) {
      let parts = line.split(separator: " ", omittingEmptySubsequences: true)
      if parts.count >= 2, let kB = Int(parts[1]) { return kB * 1024 }
    }
    return nil
  }
}
