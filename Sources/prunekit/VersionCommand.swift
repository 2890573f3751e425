import ArgumentParser

struct VersionCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "version", abstract: "Print PruneKit's version.",
    discussion: """
      The same as `prunekit --version`.

      Examples:
        prunekit version
        prunekit --version
      """)

  func run() throws { print("prunekit \(PruneKitVersion.string)") }
}
