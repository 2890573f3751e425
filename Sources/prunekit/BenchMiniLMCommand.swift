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
    discussion: """
      Inputs: seeded random token ids ([CLS] … [SEP], lengths between sequence/4 and sequence, padded
      with zeros and masked). Each engine runs once (outputs compared, max abs difference over
      unmasked tokens), then `repeats` timed runs; the table gives median and best.
      """)

  @Option(help: "MiniLM ONNX file.")
  var model = "../shared/models/all-MiniLM-L6-v2/onnx/model.onnx"

  @Option(help: "Batch size.") var batch = 32
  @Option(help: "Sequence length.") var sequence = 64
  @Option(help: "Threads for each engine.") var threads = 2
  @Option(help: "Timed runs per engine.") var repeats = 5
  @Option(help: "Seed of the random inputs.") var seed: UInt64 = 7
  @Option(help: "onnxruntime peer script.") var peer = "scripts/bench_onnxruntime_minilm.py"
  @Flag(help: "Print PruneKit's time per op type (one extra run).") var profile = false

  func validate() throws {
    try OptionCheck.int(batch, "--batch", in: 1...65_536)
    try OptionCheck.int(sequence, "--sequence", in: 1...65_536)
    try OptionCheck.int(threads, "--threads", in: 1...1024)
    try OptionCheck.int(repeats, "--repeats", in: 1...100_000)
  }

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
    if profile {
      let perOp = try ModelBenchmark.opTimes(executor, inputs)
      for (op, ms) in perOp.sorted(by: { $0.value > $1.value }) {
        print(String(format: "  %-28@ %8.1f ms", op, ms))
      }
    }
    print("MiniLM-L6 batch \(batch) × sequence \(sequence), \(threads) threads, \(repeats) runs")
    print("engine                   median ms   best ms")
    print(Self.row("PruneKit", ours.median, ours.best))
    guard let peerResult = try runPeer(inputs: inputs) else {
      print("onnxruntime: not installed (pip install onnxruntime numpy); comparison skipped")
      return
    }
    let (name, median, best, output) = peerResult
    let diff = Self.maxAbsDifference(
      reference.floats, output, mask: inputs["attention_mask"]!.int64s, width: 384)
    print(Self.row(name, median, best))
    print(String(format: "outputs: max abs difference %.2e over unmasked tokens", diff))
    print(
      String(
        format: "speed: PruneKit %.2f× onnxruntime (median), %.2f× (best)", median / ours.median,
        best / ours.best))
    if diff > 1e-3 {
      throw ValidationError("outputs differ from onnxruntime by \(diff) (> 1e-3): timing not valid")
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

  /// Runs the onnxruntime script; nil when python3 or onnxruntime is missing.
  func runPeer(inputs: [String: Tensor]) throws -> (String, Double, Double, [Float])? {
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
    process.standardOutput = pipe
    do { try process.run() } catch { return nil }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0,
      let json = try JSONSerialization.jsonObject(with: data) as? [String: Any],
      let median = json["median_ms"] as? Double, let best = json["min_ms"] as? Double
    else { return nil }
    let raw = try Data(contentsOf: URL(fileURLWithPath: outputPath))
    let output = raw.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    return (json["engine"] as? String ?? "onnxruntime", median, best, output)
  }

  static func summary(_ times: [Double]) -> (median: Double, best: Double) {
    let sorted = times.sorted()
    return (sorted.isEmpty ? 0 : sorted[sorted.count / 2], sorted.first ?? 0)
  }

  static func row(_ name: String, _ median: Double, _ best: Double) -> String {
    name.padding(toLength: 24, withPad: " ", startingAt: 0) + String(format: "%10.1f %9.1f", median, best)
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
