import ArgumentParser
import Dispatch
import Foundation
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
      QuantizeCommand.self,
      DecompressCommand.self,
      DemoCommand.self,
      ConvertCommand.self,
      InspectCommand.self,
      RunCommand.self,
    ])

  /// Parses and runs the command, with SIGINT/SIGTERM/SIGHUP removing the temporary file of a
  /// write in progress before the process ends (`SignalCleanup`).
  static func main() {
    SignalCleanup.install()
    do {
      var command = try parseAsRoot()
      try command.run()
    } catch {
      exit(withError: error)
    }
  }
}
