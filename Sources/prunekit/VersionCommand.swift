import ArgumentParser
import PruneKit

struct VersionCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "version", abstract: "Print PruneKit's version.",
    discussion: """
      The same as `prunekit --version`.

      Examples:
        prunekit version
        prunekit --version
      """)

  /// Hidden: the op table (scripts/make_onnx_ops_table.py reads it to write docs/onnx-ops.md).
  @Flag(help: .hidden) var ops = false

  func run() throws {
    if ops {
      print("# opset import range: \(ONNXImporter.supportedOpsets) (below 7 upgraded to 7 on import)")
      for line in OpLimits.listing() { print(line) }
      return
    }
    print("prunekit \(PruneKitVersion.string)")
  }
}
