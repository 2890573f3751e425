import ArgumentParser
import Foundation
import PruneKit

/// `prunekit eval-embeddings MODEL… --dense DENSE --texts FILE.csv:COLUMN[:ROWS] [--probe …] [--json]`
struct EvalEmbeddingsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "eval-embeddings",
    abstract: "Embedding fidelity and linear-probe accuracy of pruned embedding models vs the dense one.",
    usage: "prunekit eval-embeddings <model> ... --dense <model> --texts <csv:column> [<options>]",
    discussion: """
      Embeddings: mean of the last hidden state over the attention mask, L2-normalised \
      (sentence-transformers). Fidelity: cosine to the dense model's embedding of the same text (mean, \
      min). Probe: multinomial logistic regression (L2, C = 1, intercept unpenalised, L-BFGS to \
      convergence) on each model's own embeddings of the probe-train texts; accuracy on probe-test and \
      flips (test texts whose class differs from the dense model's probe). Any BERT-style model PruneKit \
      runs: ONNX, safetensors + config.json, .pkz. The protocol's full command is in \
      docs/oneshot-pruning.md.

      Examples:
        prunekit eval-embeddings p.onnx --dense m.onnx --texts t.csv:text:0..99
        prunekit eval-embeddings p.onnx --dense m.onnx --texts t.csv:text --json
      """)

  @Argument(help: "Models to evaluate (.onnx, .safetensors with config.json, .pkz).")
  var models: [String] = []

  @Option(help: "The dense reference model.") var dense: String
  @Option(help: "Fidelity texts: FILE.csv:COLUMN[:ROWS] (ROWS: A..B inclusive, A..<B, A.., N).") var texts: String
  @Option(help: "Probe data: FILE.csv:TEXT:LABEL[:ROWS].") var probe: String?
  @Option(help: "Probe pool filter on a numeric column, e.g. 'confidence>=0.6' (empty values fail).")
  var probeWhere: String?
  @Option(parsing: .unconditional, help: "Probe: an evenly spaced sample of this many pool rows (every third to test).")
  var probeSample: Int?
  @Option(parsing: .unconditional, help: "Tokens per text (longer texts are truncated).") var maxLength: Int = 256
  @Option(help: "Tokenizer folder (vocab.txt or tokenizer.json); default: beside the dense model.") var tokenizer: String?
  @OptionGroup var format: JSONOption
  var json: Bool { format.json }
  @OptionGroup var verbosity: VerbosityOptions
  @OptionGroup var threads: ThreadsOption

  func validate() throws {
    try OptionCheck.int(maxLength, "--max-length", in: 2...8192)
    try OptionCheck.int(probeSample, "--probe-sample", in: 3...Int(Int32.max))
    if probe == nil && (probeWhere != nil || probeSample != nil) {
      throw ValidationError("--probe-where and --probe-sample need --probe FILE.csv:TEXT:LABEL[:ROWS]")
    }
  }

  /// A long path cut to its last 44 characters at a folder boundary, marked with "…".
  static func shortPath(_ path: String, width: Int = 44) -> String {
    guard path.count > width else { return path }
    let tail = path.suffix(width - 1)
    return "…" + (tail.firstIndex(of: "/").map { tail[$0...] } ?? tail)
  }

  func run() throws {
    let fidelity = try CSVColumnSpec(parsing: texts, option: "--texts", columnCount: 1).read(option: "--texts")
    let probeData = try probe.map { try readProbe($0) }
    let words = try WordPieceTokenizer.forModel(dense, folder: tokenizer)
    let denseGraph = try ModelFile.loadAny(dense)
    let graphs = try models.map { (name: $0, graph: try ModelFile.loadAny($0)) }
    let result = try EmbeddingEvaluationRecipe.evaluate(
      dense: (dense, denseGraph), models: graphs, tokenizer: words, texts: fidelity.values[0], probe: probeData,
      maxLength: maxLength, progress: note)
    if json { return try JSONOutput.print(result, command: "eval-embeddings") }
    var columns = ["model", "fidelity cos", "min"]
    if probeData != nil { columns += ["probe-test cos", "probe acc", "flips"] }
    let rows = ([result.dense] + result.models).map { s -> [String] in
      var row = [Self.shortPath(s.model), String(format: "%.4f", s.fidelity.mean), String(format: "%.4f", s.fidelity.min)]
      if probeData != nil {
        if let c = s.probeTestCosine, let a = s.probeAccuracy, let f = s.flips {
          row += [String(format: "%.4f", c), String(format: "%.2f%%", 100 * a), String(format: "%.1f%%", 100 * f)]
        } else {
          row += ["—", "—", "—"]
        }
      }
      return row
    }
    print(ReportTable(columns: columns, rows: rows).text(), terminator: "")
    var footer = "\(result.fidelityTexts) fidelity texts"
    if let train = result.probeTrain, let test = result.probeTest, let m = result.majorityBaseline {
      footer += String(
        format: "; probe %d train / %d test, classes %@, majority baseline %.2f%%", train, test,
        (result.classes ?? []).joined(separator: "/"), 100 * m)
    }
    print(footer)
  }

  func readProbe(_ argument: String) throws -> ProbeData {
    var spec = try CSVColumnSpec(parsing: argument, option: "--probe", columnCount: 2)
    let filter = try probeWhere.map { try RowFilter(parsing: $0, option: "--probe-where") }
    if let filter { spec.columns.append(filter.column) }
    let values = try spec.read(option: "--probe").values
    var pool: [(text: String, label: String)] = []
    for i in values[0].indices where filter == nil || filter!.accepts(values[2][i]) {
      pool.append((values[0][i], values[1][i]))
    }
    return try ProbeData(pool: pool, sample: probeSample)
  }
}
