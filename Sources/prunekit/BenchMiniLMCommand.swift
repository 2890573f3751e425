import ArgumentParser
import Foundation
import PruneKit

/// `prunekit bench minilm`: all-MiniLM-L6-v2 latency, PruneKit next to onnxruntime in the same run
/// (same model file, same inputs, same thread count). Outputs are compared before the times are
/// trusted; onnxruntime is skipped cleanly when it is not installed.
struct BenchMiniLMCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "minilm",
    abstract: "MiniLM (ONNX) latency: PruneKit vs onnxruntime, same inputs and threads.",
    usage: "prunekit bench minilm [--model <file.onnx>] [--batch <n>] [--repeats <n>] [<options>]",
    discussion: """
      Inputs: seeded random token ids ([CLS] … [SEP], lengths between sequence/4 and sequence, padded \
      with zeros and masked). Each engine runs once (outputs compared, max abs difference over \
      unmasked tokens), then --repeats timed runs; the table gives median, p10–p90 and best, and the \
      speed ratio with its interval (p10 of one over p90 of the other and back), which says "no \
      measurable difference" when it holds 1. Run it from the repository root (the peer script is \
      scripts/bench_onnxruntime_minilm.py; --peer names another).

      Examples:
        prunekit bench minilm
        prunekit bench minilm --repeats 10 --threads 1 --json
      """)

  @Option(help: "MiniLM ONNX file.")
  var model = "../shared/models/all-MiniLM-L6-v2/onnx/model.onnx"

  @Option(parsing: .unconditional, help: "Batch size.") var batch = 32
  @Option(parsing: .unconditional, help: "Sequence length.") var sequence = 64
  @Option(parsing: .unconditional, help: "Threads for each engine.") var threads = 2
  @Option(parsing: .unconditional, help: "Timed runs per engine.") var repeats = 5
  @OptionGroup var seeds: SeedOption
  var seed: UInt64 { seeds.seed }
  @Option(help: "onnxruntime peer script.") var peer = "scripts/bench_onnxruntime_minilm.py"
  @Flag(help: "Print PruneKit's time per op type (one extra run).") var profile = false
  @OptionGroup var format: JSONOption

  /// What `--json` prints.
  struct Output: Encodable {
    struct Engine: Encodable {
      let engine: String
      let medianMs: Double
      let p10Ms: Double?
      let p90Ms: Double?
      let bestMs: Double
    }
    let batch: Int
    let sequence: Int
    let threads: Int
    let repeats: Int
    let engines: [Engine]
    let maxAbsDifference: Double?
    let speedup: Double?
    let speedupLow: Double?
    let speedupHigh: Double?
    let noMeasurableDifference: Bool?
    let peerSkipped: String?
  }

  func validate() throws {
    try OptionCheck.int(batch, "--batch", in: 1...65_536)
    try OptionCheck.int(sequence, "--sequence", in: 1...65_536)
    try OptionCheck.int(threads, "--threads", in: 1...1024)
    try OptionCheck.int(repeats, "--repeats", in: 1...100_000)
    if json && profile { throw ValidationError("--profile and --json: the profile is printed as text only") }
  }

  var json: Bool { format.json }

  func run() throws {
    ThreadPool.shared.threadCount = threads
    let graph = try ModelFile.load(model)
    let executor = try Executor(graph: graph)
    let inputs = Self.inputs(batch: batch, sequence: sequence, seed: seed)
    let reference = try executor.run(inputs)["last_hidden_state"]!
    var times: [Double] = []
    for _ in 0..<repeats {
      let start = DispatchTime.now().uptimeNanoseconds
      _ = try executor.run(inputs)
      times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
    }
    let ours = Self.summary(times)
    let ourSpread = Spread(times)
    if profile {
      let perOp = try ModelBenchmark.opTimes(executor, inputs)
      for (op, ms) in perOp.sorted(by: { $0.value > $1.value }) {
        print(String(format: "  %-28@ %8.1f ms", op, ms))
      }
    }
    let peerResult = try runPeer(inputs: inputs)
    var engines = [
      Output.Engine(engine: "PruneKit", medianMs: ours.median, p10Ms: ourSpread.p10, p90Ms: ourSpread.p90, bestMs: ours.best)
    ]
    var skipped: String? = nil
    var diff: Float? = nil
    var ratio: (Double, Double, Double)? = nil
    switch peerResult {
    case .skipped(let why): skipped = why
    case .measured(let name, let median, let best, let p10, let p90, let output):
      engines.append(Output.Engine(engine: name, medianMs: median, p10Ms: p10, p90Ms: p90, bestMs: best))
      diff = Self.maxAbsDifference(reference.floats, output, mask: inputs["attention_mask"]!.int64s, width: 384)
      // Speed-up = peer time / ours; its interval from the p10/p90 of each.
      ratio = (median / ours.median, (p10 ?? median) / ourSpread.p90, (p90 ?? median) / ourSpread.p10)
    }
    let result = Output(
      batch: batch, sequence: sequence, threads: threads, repeats: repeats, engines: engines,
      maxAbsDifference: diff.map(Double.init), speedup: ratio?.0, speedupLow: ratio?.1, speedupHigh: ratio?.2,
      noMeasurableDifference: ratio.map { $0.1 <= 1 && 1 <= $0.2 }, peerSkipped: skipped)
    if let diff, diff > 1e-3 {
      throw ValidationError("outputs differ from onnxruntime by \(diff) (> 1e-3): timing not valid")
    }
    if json { return try JSONOutput.print(result, command: "bench.minilm") }
    print("MiniLM-L6 batch \(batch) × sequence \(sequence), \(threads) threads, \(repeats) runs")
    let table = ReportTable(
      columns: ["engine", "median ms", "p10–p90 ms", "best ms"],
      rows: engines.map { e in
        [
          e.engine, String(format: "%.1f", e.medianMs),
          e.p10Ms.map { String(format: "%.1f–%.1f", $0, e.p90Ms ?? $0) } ?? "-", String(format: "%.1f", e.bestMs),
        ]
      })
    print(table.text(), terminator: "")
    if let skipped {
      print("onnxruntime: \(skipped); comparison skipped")
      return
    }
    if let diff { print(String(format: "outputs: max abs difference %.2e over unmasked tokens", diff)) }
    if let (median, low, high) = ratio {
      print(
        String(format: "speed: PruneKit %.2f× onnxruntime (median; interval %.2f–%.2f)", median, low, high)
          + (low <= 1 && 1 <= high ? ": no measurable difference" : ""))
    }
  }

  /// Seeded token ids: [CLS] random ids [SEP], random lengths, zero padding with a zero mask.
  static func inputs(batch: Int, sequence: Int, seed: UInt64) -> [String: Tensor] {
    var rng = SeededGenerator(seed: seed)
    var ids = [Int64](repeating: 0, count: batch * sequence)
    var mask = [Int64](repeating: 0, count: batch * sequence)
    for b in 0..<batch {
      let length = Int.random(in: max(2, sequence / 4)...sequence, using: &rng)
      for t in 0..<length {
        ids[b * sequence + t] =
          t == 0 ? 101 : (t == length - 1 ? 102 : Int64.random(in: 1000..<30000, using: &rng))
        mask[b * sequence + t] = 1
      }
    }
    return [
      "input_ids": Tensor(shape: [batch, sequence], int64s: ids),
      "attention_mask": Tensor(shape: [batch, sequence], int64s: mask),
      "token_type_ids": Tensor(
        shape: [batch, sequence], int64s: [Int64](repeating: 0, count: batch * sequence)),
    ]
  }

  enum PeerResult {
    case skipped(String)
    case measured(name: String, median: Double, best: Double, p10: Double?, p90: Double?, output: [Float])
  }

  /// Runs the onnxruntime script; says why when the script, python3 or onnxruntime is missing.
  func runPeer(inputs: [String: Tensor]) throws -> PeerResult {
    guard FileManager.default.fileExists(atPath: peer) else {
      return .skipped(
        "peer script \(peer) not found (run from the repository root, or give --peer PATH)")
    }
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-bench-\(getpid())")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    for (name, t) in inputs { try Data(t.rawBytes).write(to: folder.appendingPathComponent("\(name).bin")) }
    let outputPath = folder.appendingPathComponent("output.bin").path
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [
      "python3", peer, "--model", model, "--inputs", folder.path, "--batch", "\(batch)", "--sequence",
      "\(sequence)", "--threads", "\(threads)", "--repeats", "\(repeats)", "--output", outputPath,
    ]
    let pipe = Pipe()
    let errors = Pipe()
    process.standardOutput = pipe
    process.standardError = errors
    do { try process.run() } catch { return .skipped("python3 could not be started (\(error))") }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      let missing = errorText.contains("No module named")
      return .skipped(
        missing
          ? "not installed (\(errorText.split(separator: "\n").last ?? ""); pip install onnxruntime numpy)"
          : "\(peer) exited with status \(process.terminationStatus): \(errorText.split(separator: "\n").last ?? "")")
    }
    guard let json = try JSONSerialization.jsonObject(with: data) as? [String: Any],
      let median = json["median_ms"] as? Double, let best = json["min_ms"] as? Double
    else { return .skipped("\(peer) printed no median_ms/min_ms JSON") }
    let raw = try Data(contentsOf: URL(fileURLWithPath: outputPath))
    let output = raw.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    let times = (json["times_ms"] as? [Double]).map(Spread.init)
    return .measured(
      name: json["engine"] as? String ?? "onnxruntime", median: median, best: best, p10: times?.p10,
      p90: times?.p90, output: output)
  }

  static func summary(_ times: [Double]) -> (median: Double, best: Double) {
    let sorted = times.sorted()
    return (sorted.isEmpty ? 0 : sorted[sorted.count / 2], sorted.first ?? 0)
  }

  /// Max |a − b| over the hidden vectors of tokens whose mask is 1 (padding rows are arbitrary).
  static func maxAbsDifference(_ a: [Float], _ b: [Float], mask: [Int64], width: Int) -> Float {
    guard a.count == b.count else { return .infinity }
    var worst: Float = 0
    for (t, m) in mask.enumerated() where m != 0 {
      for j in 0..<width { worst = max(worst, abs(a[t * width + j] - b[t * width + j])) }
    }
    return worst
  }
}
