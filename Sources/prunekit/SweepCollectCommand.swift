import ArgumentParser
import Foundation
import PruneKit

/// `prunekit sweep collect DIR [-o results.json]`: every cell's record merged, and a table.
struct SweepCollectCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "collect",
    abstract: "Merge a sweep's cell records into one file and print a table of the grid.",
    usage: "prunekit sweep collect <directory> [--allow-missing] [-o <results.json>] [--json]",
    discussion: """
      Refuses an incomplete grid (naming the cells not done) unless --allow-missing. The merged file \
      holds the spec, its hash and every record in cell order; equal cells give equal bytes.

      Examples:
        prunekit sweep collect sw -o results.json
        prunekit sweep collect sw --allow-missing --json
      """)

  @Argument(help: "The sweep folder.") var directory: String
  @Flag(help: "Merge the cells that are done even if others are not.") var allowMissing = false
  @Option(name: .shortAndLong, help: "Write the merged results here (.json).") var output: String?
  @OptionGroup var format: JSONOption
  @OptionGroup var verbosity: VerbosityOptions

  func validate() throws {
    if let output { try OptionCheck.output(output, extensions: ["json"]) }
  }

  func run() throws {
    let results = try SweepResults(directory: SweepDirectory(directory), allowMissing: allowMissing)
    if let output { try AtomicFile.write(try results.encoded(), to: output) }
    if format.json { return try JSONOutput.print(results, command: "sweep.collect") }
    print(results.table.text())
    if let output { print("wrote \(output)") }
  }
}
