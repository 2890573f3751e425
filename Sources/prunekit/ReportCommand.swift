import ArgumentParser
import Foundation
import PruneKit

/// `prunekit report RUN.json… -o report.html|.md|.json`
struct ReportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "report",
    abstract: "One page putting run records side by side: HTML with charts, Markdown or JSON.",
    usage: "prunekit report <run.json|dir> ... -o <report.html|.md|.json> [--title <text>]",
    discussion: """
      Reads run records (written by `prunekit eval -o`, sweep cells, the demo) or earlier report \
      bundles (.json), and folders of them, and writes one report: a table of every model's facts \
      (size, parameters, sparsity, MACs, latency p50/p99, energy and CO2 with provenance, accuracy, \
      worst group, ECE, flips, robustness drop), charts of accuracy vs sparsity per method, energy \
      and latency vs accuracy with the Pareto front, per-class and per-group change, robustness, \
      reliability and latency by op. HTML is one self-contained file (inline SVG, no scripts, opens \
      offline); .md holds the same tables; .json the runs, for re-rendering. docs/report.md.

      Examples:
        prunekit report dense.json p90.json -o report.html
        prunekit report sweep-out -o sweep.md
        prunekit report a.json b.json -o all.json --title "LeNet-300-100"
      """)

  @Argument(help: "Run records (.json), report bundles, or folders holding them.") var runs: [String]
  @Option(name: .shortAndLong, help: "The report: .html, .md or .json.") var output: String
  @Option(help: "The page's title.") var title = "PruneKit report"
  @OptionGroup var format: JSONOption
  @OptionGroup var verbosity: VerbosityOptions

  func validate() throws {
    guard !runs.isEmpty else { throw ValidationError("give at least one run record (.json) or folder") }
    try OptionCheck.output(output, "-o", inputs: runs, extensions: ["html", "md", "json"])
  }

  /// The files named, folders expanded to their .json files (sorted by name).
  static func files(_ paths: [String]) throws -> [String] {
    var out: [String] = []
    for path in paths {
      var isFolder: ObjCBool = false
      guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
        throw RunRecordError(path: path, reason: "no such file or folder")
      }
      if isFolder.boolValue {
        let names = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".json") }.sorted()
        guard !names.isEmpty else { throw RunRecordError(path: path, reason: "folder holds no .json run records") }
        out += names.map { (path as NSString).appendingPathComponent($0) }
      } else {
        out.append(path)
      }
    }
    return out
  }

  struct Output: Encodable {
    let output: String
    let runs: Int
    let labels: [String]
  }

  func run() throws {
    let records = try Self.files(runs).flatMap { try ReportBundle.runs(in: $0) }
    let data: Data
    switch (output as NSString).pathExtension.lowercased() {
    case "json": data = try ReportBundle(title: title, runs: records).encoded()
    case "md": data = Data(RunReport.document(records, title: title).markdown().utf8)
    default: data = Data(RunReport.document(records, title: title).html().utf8)
    }
    try writeAtomically(data, to: output)
    if format.json {
      return try JSONOutput.print(Output(output: output, runs: records.count, labels: records.map(\.label)), command: "report")
    }
    print(RunReport.factsTable(records).text(rule: true))
    note("wrote \(output) (\(records.count) run\(records.count == 1 ? "" : "s"))")
  }
}
