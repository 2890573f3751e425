import ArgumentParser
import PruneKit

/// The `prunekit` command. One file per subcommand; register each here.
@main
struct PruneKitCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "prunekit",
    abstract: "Make trained neural networks smaller and cheaper to run, and prove it.",
    subcommands: [
      // subcommands are added here, one file each
      VersionCommand.self,
      BenchCommand.self,
      PruneCommand.self,
      SensitivityCommand.self,
      TrainCommand.self,
      EnergyCommand.self,
      CompressCommand.self,
      DecompressCommand.self,
      DemoCommand.self,
      ConvertCommand.self,
      InspectCommand.self,
      RunCommand.self,
    ])
}
