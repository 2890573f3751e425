import ArgumentParser
import Foundation
import PruneKit

/// `prunekit sweep status DIR`: done / failed / missing / partial / corrupt / foreign per cell, and the
/// `--array=` list of the cells to resubmit.
struct SweepStatusCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "status",
    abstract: "List a sweep's cells by state and print the --array= list of those to resubmit.",
    discussion: """
      done: a complete record of this sweep's cell; failed: it ran and failed (the error is shown); \
      missing: no file; partial: a write cut short (a leftover temporary file or a truncated record); \
      corrupt: not a run record of this cell; foreign: a record of another sweep.

      Examples:
        prunekit sweep status sw
        prunekit sweep status sw --json
      """)

  @Argument(help: "The sweep folder.") var directory: String
  @OptionGroup var format: JSONOption
  @OptionGroup var verbosity: VerbosityOptions

  struct Output: Encodable {
    var status: SweepStatus
    var counts: [String: Int]
    /// Slurm `--array=` list of the cells not done (empty when none).
    var array: String
    var resubmit: String?
  }

  func run() throws {
    let dir = SweepDirectory(directory)
    let status = try SweepStatus(directory: dir)
    let counts = Dictionary(uniqueKeysWithValues: SweepStatus.State.allCases.map { ($0.rawValue, status.count($0)) })
    let array = SweepStatus.arrayList(status.notDone)
    let script = directory + "/sweep.sbatch"
    let resubmit: String? =
      array.isEmpty
      ? nil
      : FileManager.default.fileExists(atPath: script)
        ? "sbatch --array=\(array) \(script)" : "prunekit sweep -o \(directory)"
    if format.json {
      return try JSONOutput.print(
        Output(status: status, counts: counts, array: array, resubmit: resubmit), command: "sweep.status")
    }
    let summary = SweepStatus.State.allCases.map { "\($0.rawValue) \(status.count($0))" }.joined(separator: ", ")
    print("sweep \(status.specHash.prefix(12)) in \(directory): \(status.cellCount) cells: \(summary)")
    for cell in status.cells where cell.state != .done {
      print("  cell \(cell.index) (\(cell.point)): \(cell.state.rawValue)\(cell.detail.map { ": \($0)" } ?? "")")
    }
    if let resubmit {
      print("--array=\(array)")
      print("resubmit: \(resubmit)")
    } else {
      print("all cells done: prunekit sweep collect \(directory)")
    }
  }
}
