import ArgumentParser
import Foundation
import PruneKit

/// `prunekit bench MODEL [MODEL …]`: latency of any model PruneKit runs, with the kernels chosen per
/// layer (sparse where measured faster), next to the same model with dense kernels only and to
/// onnxruntime on the same inputs and threads, in the same run.
struct BenchModelCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "model",
    abstract: "Latency of any model: PruneKit (chosen kernels), PruneKit dense, onnxruntime.",
    discussion: """
      `prunekit bench M.onnx` is short for `prunekit bench model M.onnx`. Inputs are seeded: float \
      inputs N(0, 1) (or MNIST test images with --data), token ids in 1000..<2000 with full masks; \
      symbolic dimensions are the batch (first) and --sequence (others). Every engine runs once first; \
      the first output is compared with the dense run (and onnxruntime's) before times are trusted. \
      Times: PruneKit with chosen and with dense kernels in turns of a warm-up run and 3 timed runs \
      (so a slow spell of the machine hits both alike, and each runs with its own weights in cache), \
      until at least --min-runs and --min-seconds each; onnxruntime after, in its own process; \
      p50 / p90 / p99 per batch. \
      Weights: bytes of the weights as the chosen kernels hold them (sparse values + indices, packed \
      dense copies not counted). "vs PK" is this engine's p50 over PruneKit's; its interval (p10 of one \
      over p90 of the other and back) holding 1 is marked "≈": no measurable difference.

      Examples:
        prunekit bench model.onnx --batch 1,64 --threads 1,2
        prunekit bench lenet300.pkz --batch 1,64 --data Data/mnist --kernels
        prunekit bench pruned.onnx --no-peer --json
      """)

  @Argument(help: "Model files (ONNX, safetensors + config.json folder, .pkz).")
  var models: [String]

  @Option(help: "Comma-separated batch sizes.") var batch = "1"
  @Option(help: "Comma-separated thread counts (each is a --threads of the other commands).")
  var threads = "1"
  @Option(parsing: .unconditional, help: "Sequence length for symbolic non-batch dimensions.") var sequence = 64
  @Option(parsing: .unconditional, help: "Minimum timed runs per engine.") var minRuns = 20
  @Option(parsing: .unconditional, help: "Minimum seconds of timed runs per engine.") var minSeconds = 0.5
  @OptionGroup var seeds: SeedOption
  @Option(help: "MNIST-format folder: feed its test images to image models ([N,1,28,28] or [N,784]).")
  var data: String?
  @Option(help: "onnxruntime peer script (skipped when python3/onnxruntime is missing).")
  var peer = "scripts/bench_onnxruntime_model.py"
  @Flag(help: "Skip onnxruntime.") var noPeer = false
  @Flag(help: "Print the kernel chosen for each linear layer.") var kernels = false
  @Flag(help: "Print the wall time per op type of the chosen and the dense kernels (a few extra runs).")
  var profile = false
  @OptionGroup var format: JSONOption
  var json: Bool { format.json }

  struct Row: Encodable {
    let model: String
    let batch: Int
    let threads: Int
    let engine: String
    let p10Ms: Double, p50Ms: Double, p90Ms: Double, p99Ms: Double
    let itemsPerSecond: Double
    let weightBytes: Int?
    let maxAbsDifference: Double?
  }

  func validate() throws {
    try OptionCheck.int(minRuns, "--min-runs", in: 1...1_000_000)
    try OptionCheck.number(minSeconds, "--min-seconds", in: 0...3600)
    try OptionCheck.int(sequence, "--sequence", in: 1...65_536)
    _ = try Self.list(batch, option: "--batch", range: 1...65_536)
    _ = try Self.list(threads, option: "--threads", range: 1...1024)
  }

  func run() throws {
    let batches = try Self.list(batch, option: "--batch", range: 1...65536)
    let threadCounts = try Self.list(threads, option: "--threads", range: 1...1024)
    var images: [Float]? = nil
    if let data { images = try MNIST.load(directory: data, split: .test, limit: 1024).images }
    var rows: [Row] = []
    for path in models {
      let (graph, codebooks) = try ModelFile.loadWithCodebooks(path)
      let peerModel = try peerONNX(for: graph, path: path)
      defer { if let peerModel, peerModel != path { try? FileManager.default.removeItem(atPath: peerModel) } }
      for b in batches {
        for t in threadCounts {
          ThreadPool.shared.threadCount = t
          let inputs = try ModelBenchmark.inputs(
            for: graph, batch: b, sequence: sequence, seed: seeds.seed, images: imageInputs(graph, images))
          let shapes = inputs.mapValues(\.shape)
          var denseOptions = SparseKernelSelector.Options()
          denseOptions.forced = .dense
          denseOptions.threads = t
          var chosenOptions = SparseKernelSelector.Options()
          chosenOptions.codebooks = codebooks
          chosenOptions.threads = t
          let chosen = SparseKernelSelector(
            graph: graph, inputShapes: shapes, sample: inputs, options: chosenOptions)
          let dense = SparseKernelSelector(graph: graph, inputShapes: shapes, options: denseOptions)
          let chosenExecutor = try Executor(graph: graph, selector: chosen)
          let denseExecutor = try Executor(graph: graph, selector: dense)
          let outputName = graph.outputs[0].name
          let reference = try denseExecutor.run(inputs)[outputName]!
          let ours = try chosenExecutor.run(inputs)[outputName]!
          let difference = Self.maxAbsDifference(ours, reference)
          guard difference <= 1e-3 * (1 + Self.maxAbs(reference)) else {
            throw ValidationError(
              "\(path): sparse kernels differ from dense by \(difference): timing not valid")
          }
          if kernels && !json {
            print("\(path) batch \(b), \(t) thread(s): kernels")
            for c in chosen.choices {
              let timed = c.seconds.sorted { $0.key < $1.key }.map {
                String(format: "%@ %.1f µs", $0.key, $0.value * 1e6)
              }
              print(
                "  \(c.node)  \(c.shape)  \(String(format: "%.1f%%", c.sparsity * 100)) zeros → \(c.kernel)"
                  + (c.fromCache
                    ? " (cached)" : timed.isEmpty ? "" : "  [" + timed.joined(separator: ", ") + "]"))
            }
          }
          if profile && !json {
            try printProfile(
              ["PruneKit": chosenExecutor, "PruneKit dense": denseExecutor], inputs: inputs,
              label: "\(path) batch \(b), \(t) thread(s)")
          }
          let name = (path as NSString).lastPathComponent
          // Chosen and dense kernels in turns (see ModelBenchmark.timeInterleaved).
          let times = try ModelBenchmark.timeInterleaved(
            [chosenExecutor, denseExecutor], inputs, minimumRuns: minRuns, minimumSeconds: minSeconds)
          rows.append(
            row(
              name, b, t, "PruneKit", times[0], weights: Self.weightBytes(graph, chosen),
              difference: difference))
          rows.append(
            row(
              name, b, t, "PruneKit dense", times[1], weights: Self.weightBytes(graph, dense), difference: 0))
          if let peerModel, !noPeer,
            let (engine, times, output) = try runPeer(peerModel, inputs: inputs, threads: t)
          {
            rows.append(
              row(
                name, b, t, engine, times.map { $0 / 1000 }, weights: nil,
                difference: Self.maxAbsDifference(output, reference)))
          }
        }
      }
    }
    if json {
      return try JSONOutput.print(rows, command: "bench.model")
    }
    printTable(rows)
  }

  func row(
    _ model: String, _ batch: Int, _ threads: Int, _ engine: String, _ times: [Double], weights: Int?,
    difference: Double?
  ) -> Row {
    let p50 = ModelBenchmark.percentile(times, 0.5)
    return Row(
      model: model, batch: batch, threads: threads, engine: engine,
      p10Ms: ModelBenchmark.percentile(times, 0.1) * 1e3, p50Ms: p50 * 1e3,
      p90Ms: ModelBenchmark.percentile(times, 0.9) * 1e3, p99Ms: ModelBenchmark.percentile(times, 0.99) * 1e3,
      itemsPerSecond: Double(batch) / max(p50, 1e-12), weightBytes: weights, maxAbsDifference: difference)
  }

  func printTable(_ rows: [Row]) {
    print("CPU: \(KernelChoiceCache.cpuModel) (\(CPUFeatures.kernel))")
    let table = ReportTable(
      columns: [
        "model", "batch", "threads", "engine", "p50 ms", "p90 ms", "p99 ms", "µs/item", "items/s", "weights",
        "max|Δ|", "vs PK",
      ],
      rows: rows.map { r in
        let ours = rows.first {
          $0.model == r.model && $0.batch == r.batch && $0.threads == r.threads && $0.engine == "PruneKit"
        }
        let ratio = ours.map { r.p50Ms / $0.p50Ms } ?? 1
        // Interval of the ratio: p10 of this engine over p90 of ours, and p90 over p10.
        let same = ours.map { r.engine == $0.engine } ?? true
        let holdsOne = ours.map { r.p10Ms / $0.p90Ms <= 1 && 1 <= r.p90Ms / $0.p10Ms } ?? false
        return [
          String(r.model.prefix(21)), "\(r.batch)", "\(r.threads)", r.engine, String(format: "%.4f", r.p50Ms),
          String(format: "%.4f", r.p90Ms), String(format: "%.4f", r.p99Ms),
          String(format: "%.2f", r.p50Ms * 1000 / Double(r.batch)), String(format: "%.0f", r.itemsPerSecond),
          r.weightBytes.map { Self.bytes($0) } ?? "-",
          r.maxAbsDifference.map { String(format: "%.1e", $0) } ?? "-",
          String(format: "%.2f×", ratio) + (!same && holdsOne ? "≈" : ""),
        ]
      })
    print(table.text(), terminator: "")
    print("vs PK: this engine's p50 / PruneKit's (chosen kernels) p50, same model, batch and threads;")
    print("≈: the interval (p10/p90 .. p90/p10) holds 1: no measurable difference")
  }

  /// Median over 5 runs of the wall time each op type takes (fused nodes by their own type), ms.
  func printProfile(_ executors: [String: Executor], inputs: [String: Tensor], label: String) throws {
    print("\(label): ms per run by op type (median of 5 runs)")
    var table: [String: [String: Double]] = [:]
    for (engine, executor) in executors {
      var runs: [[String: Double]] = []
      for _ in 0..<5 { runs.append(try ModelBenchmark.opTimes(executor, inputs)) }
      for op in Set(runs.flatMap(\.keys)) {
        let values = runs.map { $0[op] ?? 0 }.sorted()
        table[op, default: [:]][engine] = values[values.count / 2]
      }
    }
    let engines = executors.keys.sorted()
    let sorted = table.sorted { ($0.value[engines[0]] ?? 0) > ($1.value[engines[0]] ?? 0) }
    let text = ReportTable(
      columns: ["op"] + engines,
      rows: sorted.map { op, row in [op] + engines.map { String(format: "%.3f", row[$0] ?? 0) } })
    print(text.text(indent: "  "), terminator: "")
  }

  static func bytes(_ n: Int) -> String {
    n >= 1 << 20 ? String(format: "%.1f MB", Double(n) / 1e6) : String(format: "%.1f KB", Double(n) / 1e3)
  }

  /// Float32 initializer bytes, with each linear weight counted as its chosen kernel holds it.
  static func weightBytes(_ graph: Graph, _ selector: SparseKernelSelector) -> Int {
    var replaced: [String: Int] = [:]
    for c in selector.choices {
      let name = c.weight.hasSuffix("/transposed") ? String(c.weight.dropLast("/transposed".count)) : c.weight
      replaced[name] = c.weightBytes
    }
    var total = 0
    for (name, t) in graph.initializers { total += replaced[name] ?? t.count * t.dtype.byteWidth }
    return total
  }

  func imageInputs(_ graph: Graph, _ images: [Float]?) -> [Float]? {
    guard let images, graph.inputs.filter({ graph.initializers[$0.name] == nil }).count == 1 else {
      return nil
    }
    return images
  }

  /// An ONNX file onnxruntime can read: the model itself, or the graph exported to a temporary file.
  func peerONNX(for graph: Graph, path: String) throws -> String? {
    if noPeer { return nil }
    if (path as NSString).pathExtension.lowercased() == "onnx" { return path }
    let temp = FileManager.default.temporaryDirectory.appendingPathComponent(
      "prunekit-bench-\(getpid())-\(abs(path.hashValue)).onnx"
    ).path
    try ModelFile.save(graph, to: temp)
    return temp
  }

  /// onnxruntime's times (ms) and first output; nil when python3/onnxruntime/the script is missing.
  func runPeer(_ model: String, inputs: [String: Tensor], threads: Int) throws -> (String, [Double], Tensor)?
  {
    guard FileManager.default.fileExists(atPath: peer) else { return nil }
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-bench-\(getpid())")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let inputPath = folder.appendingPathComponent("inputs.safetensors").path
    let outputPath = folder.appendingPathComponent("output.safetensors").path
    try SafeTensorsWriter.write(inputs, to: inputPath)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [
      "python3", peer, "--model", model, "--inputs", inputPath, "--output", outputPath, "--threads",
      "\(threads)",
      "--min-runs", "\(minRuns)", "--min-seconds", "\(minSeconds)",
    ]
    var environment = ProcessInfo.processInfo.environment
    for name in ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"] { environment[name] = "\(threads)" }
    process.environment = environment
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { return nil }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    struct Reply: Decodable {
      let engine: String
      let output: String
      let times_ms: [Double]
    }
    guard process.terminationStatus == 0, let reply = try? JSONDecoder().decode(Reply.self, from: data) else {
      return nil
    }
    let output = try SafeTensorsFile(path: outputPath).tensor(named: reply.output)
    return (reply.engine, reply.times_ms, output)
  }

  static func list(_ text: String, option: String, range: ClosedRange<Int>) throws -> [Int] {
    try text.split(separator: ",").map { part in
      guard let v = Int(part.trimmingCharacters(in: .whitespaces)), range.contains(v) else {
        throw ValidationError(
          "\(option) '\(part)': expected integers in \(range.lowerBound)...\(range.upperBound)")
      }
      return v
    }
  }

  static func maxAbs(_ t: Tensor) -> Double { Double(t.asFloats().reduce(0) { max($0, abs($1)) }) }

  static func maxAbsDifference(_ a: Tensor, _ b: Tensor) -> Double {
    let (x, y) = (a.asFloats(), b.asFloats())
    guard x.count == y.count else { return .infinity }
    var worst: Float = 0
    for i in x.indices { worst = max(worst, abs(x[i] - y[i])) }
    return Double(worst)
  }
}
