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
    discussion: """
      Every subcommand shares one vocabulary: -o/--output, --json (one schema, docs/cli.md), --seed \
      (default 1), --threads, --quiet/--verbose. Errors are printed as 'error: …' on standard error; \
      exit status 0 = done, 1 = the work failed (bad input file, unsupported model), 64 = bad options.
      """,
    version: "prunekit \(PruneKitVersion.string)",
    subcommands: [
      // subcommands are added here, one file each
      VersionCommand.self,
      BenchCommand.self,
      PruneCommand.self,
      SensitivityCommand.self,
      TrainCommand.self,
      FinetuneCommand.self,
      EnergyCommand.self,
      CompressCommand.self,
      QuantizeCommand.self,
      DecompressCommand.self,
      DemoCommand.self,
      ConvertCommand.self,
      InspectCommand.self,
      RunCommand.self,
      EvalEmbeddingsCommand.self,
      EvalCommand.self,
      ReportCommand.self,
      SweepCommand.self,
      PlanCommand.self,
    ])

  /// Applies the shared option groups a command declares (`--quiet/--verbose`, `--threads`) before
  /// it runs, so that no command has to remember to.
  static func applySharedOptions(of command: ParsableCommand) {
    for child in Mirror(reflecting: command).children {
      (child.value as? OptionGroup<VerbosityOptions>)?.wrappedValue.apply()
      (child.value as? OptionGroup<ThreadsOption>)?.wrappedValue.apply()
    }
  }

  /// Parses and runs the command, with SIGINT/SIGTERM/SIGHUP removing the temporary file of a
  /// write in progress before the process ends (`SignalCleanup`).
  static func main() {
    SignalCleanup.install()
    var command: ParsableCommand
    do {
      command = try parseAsRoot()
    } catch {
      ErrorReport.exit(error, command: nil)
    }
    applySharedOptions(of: command)
    let start = Date()
    if Verbosity.level == .verbose {
      note("command: prunekit \(CommandLine.arguments.dropFirst().joined(separator: " "))")
      note("threads: \(ThreadPool.shared.threadCount); CPU: \(KernelChoiceCache.cpuModel)")
    }
    do {
      try command.run()
    } catch {
      ErrorReport.exit(error, command: type(of: command))
    }
    if Verbosity.level == .verbose { note(String(format: "done in %.2f s", Date().timeIntervalSince(start))) }
  }
}
