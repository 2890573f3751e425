import Foundation

/// Progress of long work: a redrawn bar with rate and ETA on a terminal, plain lines otherwise.
/// Writes to standard error so that standard output stays clean (e.g. for `--json`).
struct ProgressBar {
  let total: Int
  let label: String
  let isTTY = isatty(2) != 0
  private let start = Date()
  private var lastDraw = Date.distantPast
  private var lastPercent = -1

  init(total: Int, label: String) {
    self.total = max(total, 1)
    self.label = label
  }

  /// `done` of `total` units; `fields` like "loss 0.12"; `unit` for the rate (e.g. "img").
  mutating func update(done: Int, unitsDone: Int, unit: String, fields: String) {
    guard Verbosity.level != .quiet else { return }
    let now = Date()
    let elapsed = now.timeIntervalSince(start)
    let fraction = Double(done) / Double(total)
    let rate = elapsed > 0 ? Double(unitsDone) / elapsed : 0
    let eta = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0
    if isTTY {
      guard now.timeIntervalSince(lastDraw) > 0.1 || done == total else { return }
      lastDraw = now
      let width = 24
      let filled = Int(fraction * Double(width))
      let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
      let line = String(
        format: "\r%@ [%@] %3d%% %@ %.0f %@/s ETA %@ ", label, bar, Int(fraction * 100), fields, rate, unit,
        ProgressBar.clock(eta))
      FileHandle.standardError.write(Data(line.utf8))
      if done == total { FileHandle.standardError.write(Data("\n".utf8)) }
    } else {
      let percent = Int(fraction * 10) * 10  // a plain line every 10 %
      guard percent != lastPercent else { return }
      lastPercent = percent
      let line = String(
        format: "%@ %3d%% %@ %.0f %@/s ETA %@\n", label, percent, fields, rate, unit, ProgressBar.clock(eta))
      FileHandle.standardError.write(Data(line.utf8))
    }
  }

  static func clock(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    return String(format: "%d:%02d", s / 60, s % 60)
  }
}

/// A line to standard error (progress and notes; results go to standard output).
/// Nothing with `--quiet`.
func note(_ text: String) {
  guard Verbosity.level != .quiet else { return }
  FileHandle.standardError.write(Data((text + "\n").utf8))
}
