import ArgumentParser
import Foundation
import Testing

@testable import prunekit

/// The README cannot drift from the binary: every `prunekit …` command it shows (code blocks and the
/// tables' command cells) is parsed by the real argument parser, the cheap ones run verbatim on the
/// fixtures, and every flag of the "CLI at a glance" table's synopses exists. The heavy ones
/// (training, iterative pruning, the demo, benchmarks, energy) run verbatim in
/// `scripts/check_readme_commands.sh`, not in CI.
@Suite(.serialized) struct ReadmeCommandTests {
  struct Command: CustomTestStringConvertible, Sendable {
    /// As written in the README (one `&&` part).
    var text: String
    /// The arguments after `prunekit`.
    var arguments: [String]
    /// A synopsis with placeholders (`M`, `[--bits …]`, `a|b`): only its flags are checked.
    var isSynopsis: Bool
    var line: Int
    var testDescription: String { "README:\(line) \(text)" }
  }

  static let readme = CLI.packageRoot + "/README.md"

  /// Every prunekit command of the README, in order.
  static func commands() -> [Command] {
    guard let text = try? String(contentsOfFile: readme, encoding: .utf8) else { return [] }
    var result: [Command] = []
    var inCode = false
    var section = ""
    for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      if line.hasPrefix("```") {
        inCode.toggle()
        continue
      }
      if line.hasPrefix("## ") { section = String(line) }
      var candidates: [String] = []
      if inCode {
        candidates = [String(line.split(separator: "#", maxSplits: 1).first ?? "")]
      } else if line.hasPrefix("|") {
        // Command cells of tables: backticked spans.
        candidates = line.split(separator: "`", omittingEmptySubsequences: false).enumerated()
          .filter { $0.offset % 2 == 1 }.map { String($0.element) }
      }
      let synopsis = section.contains("The CLI at a glance")
      for candidate in candidates {
        for part in candidate.components(separatedBy: " && ") {
          guard let arguments = prunekitArguments(part) else { continue }
          let placeholder = part.contains("[") || part.contains("\\|") || part.contains("…")
            || arguments.contains { $0.range(of: #"^[A-Z]+(\.[a-z]+)?$"#, options: .regularExpression) != nil }
          result.append(
            Command(
              text: part.trimmingCharacters(in: .whitespaces), arguments: arguments,
              isSynopsis: synopsis || placeholder, line: index + 1))
        }
      }
    }
    return result
  }

  /// The arguments after `prunekit` when `text` runs prunekit (`prunekit …`, `swift run -c release
  /// prunekit …`, `.build/release/prunekit …`, after `VAR=value` assignments); nil otherwise.
  static func prunekitArguments(_ text: String) -> [String]? {
    var words = text.split(separator: " ").map(String.init)
    while let first = words.first, first.contains("="), !first.hasPrefix("-") { words.removeFirst() }
    if words.starts(with: ["swift", "run", "-c", "release", "prunekit"]) { return Array(words.dropFirst(5)) }
    guard let first = words.first, first == "prunekit" || first.hasSuffix("/prunekit") else { return nil }
    return Array(words.dropFirst())
  }

  /// Too slow or machine-dependent for CI: run by scripts/check_readme_commands.sh.
  static func isHeavy(_ c: Command) -> Bool {
    let heavy = ["demo", "train", "bench", "energy", "sensitivity"]
    return heavy.contains(c.arguments.first ?? "") || c.arguments.contains("--schedule")
  }

  @Test func theReadmeHasCommands() {
    let all = Self.commands()
    #expect(all.count >= 20, "\(all.count) commands found")
    #expect(all.contains { $0.isSynopsis } && all.contains { !$0.isSynopsis })
  }

  /// Every concrete command parses and validates in-process (no work is done).
  @Test(arguments: commands().filter { !$0.isSynopsis })
  func parsesWithTheRealParser(_ c: Command) throws {
    do {
      _ = try PruneKitCommand.parseAsRoot(c.arguments)
    } catch {
      Issue.record("README:\(c.line) `\(c.text)`: \(PruneKitCommand.message(for: error))")
    }
  }

  /// Every flag of every synopsis is an option of its subcommand.
  @Test(arguments: commands().filter(\.isSynopsis))
  func synopsisFlagsExist(_ c: Command) throws {
    var path: [String] = []
    for word in c.arguments where word.range(of: #"^[a-z][a-z-]*$"#, options: .regularExpression) != nil {
      let candidate = path + [word]
      if (try? CLI.run(candidate + ["--help"]))?.status == 0 { path = candidate } else { break }
    }
    let help = try CLI.run(path + ["--help"]).stdout
    for flag in c.arguments where flag.hasPrefix("--") {
      let name = String(flag.split(separator: "=").first!.trimmingCharacters(in: CharacterSet(charactersIn: "[]")))
      #expect(help.contains(name + " ") || help.contains(name + "\n") || help.contains(name + ","),
        "README:\(c.line): \(name) is not an option of prunekit \(path.joined(separator: " "))")
    }
  }

  /// The cheap commands run verbatim, in README order, in a folder laid out like a checkout (so
  /// `../shared/…` and `Data/mnist` resolve), and succeed. Commands reading a file an earlier heavy
  /// command would have made are left to the script.
  @Test func cheapCommandsRunVerbatim() throws {
    let root = try CLI.temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let fm = FileManager.default
    let shared = URL(fileURLWithPath: CLI.packageRoot + "/../shared").standardizedFileURL.path
    try fm.createSymbolicLink(atPath: root + "/shared", withDestinationPath: shared)
    let work = root + "/work"
    try fm.createDirectory(atPath: work, withIntermediateDirectories: false)
    for name in ["Data", "scripts"] {
      try fm.createSymbolicLink(atPath: work + "/" + name, withDestinationPath: CLI.packageRoot + "/" + name)
    }
    var ran = 0
    for c in Self.commands() where !c.isSynopsis && !Self.isHeavy(c) {
      guard Self.inputs(of: c.arguments).allSatisfy({ fm.fileExists(atPath: work + "/" + $0) }) else { continue }
      let r = try CLI.run(c.arguments, in: work, timeout: 300)
      #expect(r.status == 0, "README:\(c.line) `\(c.text)`: status \(r.status)\n\(r.output)")
      ran += 1
    }
    #expect(ran >= 4, "only \(ran) README commands ran")
  }

  /// Path-like arguments that are read (not the value of an output option).
  static func inputs(of arguments: [String]) -> [String] {
    let outputs: Set<String> = ["-o", "--output", "--csv", "--report", "--external-data"]
    var result: [String] = []
    for (i, a) in arguments.enumerated() where !a.hasPrefix("-") {
      if i > 0 && outputs.contains(arguments[i - 1]) { continue }
      let ext = (a as NSString).pathExtension
      if a.contains("/") || ["onnx", "pkz", "safetensors", "json"].contains(ext) { result.append(a) }
    }
    return result
  }
}
