import ArgumentParser

/// `prunekit bench …`: benchmarks that print a comparison table. One file per benchmark subcommand
/// (`BenchKernelsCommand.swift`, …); register each here.
struct BenchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench", abstract: "Measure PruneKit's speed next to a peer, in the same run.",
    subcommands: [
      BenchModelCommand.self,
      BenchKernelsCommand.self,
      BenchMiniLMCommand.self,
    ],
    defaultSubcommand: BenchModelCommand.self)
}
