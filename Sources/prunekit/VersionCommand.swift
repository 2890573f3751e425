import ArgumentParser

struct VersionCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "version", abstract: "Print PruneKit's version.")

  func run() throws { print("prunekit 0.1.0") }
}
