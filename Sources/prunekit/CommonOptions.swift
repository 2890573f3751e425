import ArgumentParser
import Foundation
import PruneKit

// The option vocabulary every subcommand shares (docs/cli.md). A command takes the groups it uses
// with `@OptionGroup var json: JSONOption` etc., so a flag means the same thing in every command
// and an option a command cannot honour is not offered (an unknown option is a usage error).

/// PruneKit's version, printed by `prunekit --version` and `prunekit version`.
enum PruneKitVersion {
  static let string = "0.2.0"
}

/// Exit statuses, the same for every subcommand (README "Exit codes").
enum ExitStatus {
  /// The command did what was asked.
  static let success: Int32 = 0
  /// The work failed: a missing, unreadable or corrupt input, an unsupported model, a failed check.
  static let failure: Int32 = 1
  /// Bad, missing, conflicting or inapplicable options (BSD `EX_USAGE`), found before any work.
  static let usage: Int32 = 64
}

/// `--json`: the result as one JSON object on standard output (progress stays on standard error).
struct JSONOption: ParsableArguments {
  @Flag(help: "Print the result as one JSON object on standard output (schema: docs/cli.md).")
  var json = false
}

/// `--seed N`: every random choice of the command (initial weights, data order, random importance,
/// synthetic inputs) is derived from it; the default is the same in every command.
struct SeedOption: ParsableArguments {
  static let defaultSeed: UInt64 = 1

  @Option(help: "Seed of every random choice the command makes.")
  var seed: UInt64 = SeedOption.defaultSeed
}

/// `--threads N`: the size of the worker pool (default: `PRUNEKIT_THREADS`, else every core).
struct ThreadsOption: ParsableArguments {
  @Option(parsing: .unconditional, help: "Worker threads (default: $PRUNEKIT_THREADS, else every core).")
  var threads: Int?

  func validate() throws { try OptionCheck.int(threads, "--threads", in: 1...1024) }

  /// Sizes the shared pool when `--threads` was given.
  func apply() { if let threads { ThreadPool.shared.threadCount = threads } }
}

/// `--quiet` (results only: no progress or notes on standard error) and `--verbose` (more notes).
struct VerbosityOptions: ParsableArguments {
  @Flag(name: .shortAndLong, help: "Print results only: no progress bars or notes on standard error.")
  var quiet = false

  @Flag(name: .shortAndLong, help: "Also print the command, the threads, the CPU and the wall time on standard error.")
  var verbose = false

  func validate() throws {
    if quiet && verbose { throw ValidationError("--quiet and --verbose: give at most one") }
  }

  /// Sets the process-wide level that `note` and `ProgressBar` obey.
  func apply() { Verbosity.level = quiet ? .quiet : verbose ? .verbose : .normal }
}

/// How much goes to standard error (set once from `VerbosityOptions` before any work).
enum Verbosity {
  enum Level: Int { case quiet, normal, verbose }
  nonisolated(unsafe) static var level = Level.normal
}

/// JSON on standard output, one form for every command:
/// `{"schema": "prunekit.prune", "schema_version": 1, "result": {…}}` with snake_case keys, sorted,
/// numbers as JSON numbers (never formatted strings). `schema_version` rises when a key is renamed
/// or removed; added keys keep it.
enum JSONOutput {
  static let schemaVersion = 1

  private struct Envelope<T: Encodable>: Encodable {
    let schema: String
    let schemaVersion: Int
    let result: T
  }

  static var encoder: JSONEncoder {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .custom { path in
      // Property names become snake_case; dictionary keys (layer, tensor, storage names) are data
      // and keep their spelling (Foundation's .convertToSnakeCase would rewrite them too).
      let key = path.last!
      guard String(describing: type(of: key)) == "CodingKeys" else { return key }
      return SnakeCaseKey(stringValue: snakeCase(key.stringValue))
    }
    encoder.nonConformingFloatEncodingStrategy = .convertToString(
      positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return encoder
  }

  private struct SnakeCaseKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
  }

  /// "itemsPerSecond" → "items_per_second", "p50Ms" → "p50_ms", "nonzeroMACsAfter" → "nonzero_macs_after".
  static func snakeCase(_ name: String) -> String {
    var out = ""
    var previous: Character? = nil
    for ch in name {
      if ch.isUppercase, let p = previous, p.isLowercase || p.isNumber { out.append("_") }
      out.append(Character(ch.lowercased()))
      previous = ch
    }
    return out
  }

  /// The JSON text of `result` in the envelope of `command` ("prune", "bench.model", …).
  static func text<T: Encodable>(_ result: T, command: String) throws -> String {
    let data = try encoder.encode(Envelope(schema: "prunekit.\(command)", schemaVersion: schemaVersion, result: result))
    return String(decoding: data, as: UTF8.self)
  }

  static func print<T: Encodable>(_ result: T, command: String) throws {
    Swift.print(try text(result, command: command))
  }
}

/// Turns an error into the one message form and exit status every subcommand uses:
/// `error: <what, naming the file/tensor/node/option, and what was expected>` on standard error,
/// then for a usage error `see 'prunekit SUBCOMMAND --help'`.
enum ErrorReport {
  /// Ends the process for an error from parsing (`command` nil) or from a command's `run()`.
  static func exit(_ error: Error, command: ParsableCommand.Type?) -> Never {
    let code = PruneKitCommand.exitCode(for: error)
    // --help, --version and CleanExit print what ArgumentParser prints.
    if code == .success { PruneKitCommand.exit(withError: error) }
    if let exit = error as? ExitCode { Foundation.exit(exit.rawValue) }
    var message = PruneKitCommand.message(for: error)
    if message.hasPrefix("Error: ") { message.removeFirst("Error: ".count) }
    var text = "error: \(message)\n"
    let isUsage = code.rawValue == ExitStatus.usage || error is ValidationError
    if isUsage {
      let name = commandPath(command ?? subcommand(in: error)).joined(separator: " ")
      text += "see '\(name) --help'\n"
    }
    FileHandle.standardError.write(Data(text.utf8))
    Foundation.exit(isUsage ? ExitStatus.usage : ExitStatus.failure)
  }

  /// "prunekit bench model" for BenchModelCommand.
  static func commandPath(_ command: ParsableCommand.Type?) -> [String] {
    guard let command, command != PruneKitCommand.self else { return ["prunekit"] }
    func search(_ node: ParsableCommand.Type, _ path: [String]) -> [String]? {
      let here = path + [node.configuration.commandName ?? "\(node)"]
      if node == command { return here }
      for child in node.configuration.subcommands {
        if let found = search(child, here) { return found }
      }
      return nil
    }
    return search(PruneKitCommand.self, []) ?? ["prunekit"]
  }

  /// The subcommand a parse error was raised for, read from the arguments (the error does not say).
  private static func subcommand(in error: Error) -> ParsableCommand.Type? {
    var node: ParsableCommand.Type = PruneKitCommand.self
    for argument in CommandLine.arguments.dropFirst() {
      guard let next = node.configuration.subcommands.first(where: { $0.configuration.commandName == argument })
      else { break }
      node = next
    }
    return node
  }
}
