import ArgumentParser
import Foundation
import PruneKit

/// `prunekit bench train-step`: one MiniLM training step (forward, backward through the executor's
/// graph, AdamW on every weight), PruneKit next to PyTorch CPU in the same run, same token ids.
struct BenchTrainStepCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "train-step",
    abstract: "MiniLM training step time: PruneKit vs PyTorch CPU, same inputs and threads.",
    usage: "prunekit bench train-step [--model <file.onnx>] [--batch <n>] [--sequence <n>] [<options>]",
    discussion: """
      One step = forward, backward of L = Σ R·last_hidden_state (R_i = sin(0.37·i + 0.1)) and an \
      AdamW update of all float weights. Inputs as bench minilm (seeded token ids, random lengths, \
      masked padding). Each engine runs one warm-up step, then --repeats timed steps; the losses of \
      the first step are compared before the times are trusted. The peer (PyTorch eager on the same \
      ONNX graph) is scripts/minilm_train_step_peer.py; run from the repository root.

      Examples:
        prunekit bench train-step
        prunekit bench train-step --batch 8 --repeats 2 --json
      """)

  @Option(help: "MiniLM ONNX file.")
  var model = "../shared/models/all-MiniLM-L6-v2/onnx/model.onnx"
  @Option(parsing: .unconditional, help: "Batch size.") var batch = 32
  @Option(parsing: .unconditional, help: "Sequence length.") var sequence = 64
  @Option(parsing: .unconditional, help: "Threads for each engine.") var threads = 2
  @Option(parsing: .unconditional, help: "Timed steps per engine.") var repeats = 3
  @Option(help: "PyTorch peer script.") var peer = "scripts/minilm_train_step_peer.py"
  @OptionGroup var seeds: SeedOption
  @OptionGroup var format: JSONOption
  var json: Bool { format.json }

  struct Output: Encodable {
    let batch: Int
    let sequence: Int
    let threads: Int
    let repeats: Int
    let prunekitMedianMs: Double
    let prunekitTimesMs: [Double]
    let peer: String?
    let peerMedianMs: Double?
    let peerTimesMs: [Double]?
    let loss: Double
    let peerLoss: Double?
    let ratio: Double?
    let peerSkipped: String?
  }

  func validate() throws {
    try OptionCheck.int(batch, "--batch", in: 1...4096)
    try OptionCheck.int(sequence, "--sequence", in: 2...512)
    try OptionCheck.int(threads, "--threads", in: 1...1024)
    try OptionCheck.int(repeats, "--repeats", in: 1...1000)
  }

  func run() throws {
    ThreadPool.shared.threadCount = threads
    AllocatorTuning.retainFreedMemory()
    let graph = try ModelFile.load(model)
    let inputs = BenchMiniLMCommand.inputs(batch: batch, sequence: sequence, seed: seeds.seed)
    let tuner = try TrainStepProbe(graph: graph)
    let loss = try tuner.step(inputs)  // warm-up; its loss is compared with the peer's
    var times: [Double] = []
    for _ in 0..<repeats {
      let start = DispatchTime.now().uptimeNanoseconds
      _ = try tuner.step(inputs)
      times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
    }
    let ours = times.sorted()[times.count / 2]
    let peerResult = try runPeer(inputs)
    var skipped: String? = nil
    var peerJSON: [String: Any] = [:]
    switch peerResult {
    case .failure(let why): skipped = why.description
    case .success(let json): peerJSON = json
    }
    let peerMedian = peerJSON["median_ms"] as? Double
    let peerLoss = peerJSON["loss"] as? Double
    if let peerLoss, abs(peerLoss - loss) > 1e-3 * Swift.max(1, abs(peerLoss)) {
      throw ValidationError("first-step loss \(loss) differs from PyTorch's \(peerLoss): timing not valid")
    }
    let result = Output(
      batch: batch, sequence: sequence, threads: threads, repeats: repeats, prunekitMedianMs: ours,
      prunekitTimesMs: times, peer: peerJSON["engine"] as? String, peerMedianMs: peerMedian,
      peerTimesMs: peerJSON["times_ms"] as? [Double], loss: loss, peerLoss: peerLoss,
      ratio: peerMedian.map { ours / $0 }, peerSkipped: skipped)
    if json { return try JSONOutput.print(result, command: "bench.train-step") }
    print("MiniLM-L6 training step, batch \(batch) × sequence \(sequence), \(threads) threads, \(repeats) steps")
    var rows = [["PruneKit", String(format: "%.1f", ours), String(format: "%.4f", loss)]]
    if let peerMedian { rows.append(["PyTorch", String(format: "%.1f", peerMedian), String(format: "%.4f", peerLoss ?? .nan)]) }
    print(ReportTable(columns: ["engine", "median ms", "first-step loss"], rows: rows).text(), terminator: "")
    if let skipped { return print("PyTorch: \(skipped); comparison skipped") }
    if let peerMedian { print(String(format: "PruneKit / PyTorch: %.2f× the time", ours / peerMedian)) }
  }

  /// Runs the PyTorch script on the same token ids; the failure says why it could not.
  func runPeer(_ inputs: [String: Tensor]) throws -> Result<[String: Any], PeerSkipped> {
    guard FileManager.default.fileExists(atPath: peer) else {
      return .failure(PeerSkipped("peer script \(peer) not found (run from the repository root, or give --peer)"))
    }
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-train-step-\(getpid())")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    for (name, t) in inputs { try Data(t.rawBytes).write(to: folder.appendingPathComponent("\(name).bin")) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [
      "python3", peer, "--model", model, "--inputs", folder.path, "--batch", "\(batch)", "--sequence", "\(sequence)",
      "--threads", "\(threads)", "--repeats", "\(repeats)",
    ]
    let out = Pipe(), errors = Pipe()
    process.standardOutput = out
    process.standardError = errors
    do { try process.run() } catch { return .failure(PeerSkipped("python3 could not be started (\(error))")) }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0,
      let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    else {
      return .failure(PeerSkipped("\(peer) failed: \(errorText.split(separator: "\n").last ?? "no output")"))
    }
    return .success(json)
  }

  struct PeerSkipped: Error, CustomStringConvertible {
    let description: String
    init(_ text: String) { description = text }
  }
}
