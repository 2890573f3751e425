import ArgumentParser
import Foundation
import PruneKit

struct EnergyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "energy",
    abstract: "Energy and CO2 per inference: measured (RAPL, hwmon, perf, NVML) or estimated, and modelled.",
    discussion: """
      Runs each model on seeded synthetic inputs of --batch samples in --repeats energy sessions of \
      at least --runs runs and --min-seconds (with two models the sessions alternate, A B A B, so a \
      slow spell of the machine hits both) and reports energy per inference with its provenance: \
      `measured` when an energy counter is readable, else `estimated` (CPU time × power per busy \
      thread, a low–high band), and the median and p10–p90 over the repeats. It also prints the \
      `modelled` energy from the model's MACs and bytes with a hardware profile (horowitz-45nm, \
      jouppi-7nm): dense fp32 weights, and sparse storage (values + --index-bits per non-zero) where \
      that is cheaper. With two models, the first/second ratio is computed with the same method for \
      both, repeat by repeat; when its p10–p90 interval holds 1 it says "no measurable difference".

      Examples:
        prunekit energy lenet300.onnx p.onnx
        prunekit energy model.onnx --batch 64 --region FRA --csv emissions.csv
        prunekit energy dense.onnx pruned.onnx --repeats 9 --report energy.html
      """)

  @Argument(help: "One or two models (.onnx, …): e.g. dense then pruned.")
  var models: [String]

  @Option(parsing: .unconditional, help: "Samples per run.") var batch = 1
  @Option(parsing: .unconditional, help: "Size of symbolic dimensions other than the batch (e.g. sequence length).")
  var sequence = 64
  @Option(parsing: .unconditional, help: "Timed runs per repeat (at least; more until --min-seconds have passed).")
  var runs = 20
  @Option(parsing: .unconditional, help: "Energy sessions per model; their spread is reported.")
  var repeats = 5
  @Option(
    parsing: .unconditional,
    help: "Minimum time of each repeat, seconds (0-3600): short regions make counters and CPU time coarse.")
  var minSeconds = 1.0
  @Option(help: "Grid region, ISO 3166 alpha-3 (FRA, USA, …); default: world average 475 g/kWh.")
  var region: String?
  @Option(
    parsing: .unconditional, help: "Power usage effectiveness (1.0 = machine only; 1.58 = Uptime Institute average).")
  var pue = 1.0
  @Option(help: "Hardware profile for the modelled figure: horowitz-45nm or jouppi-7nm.")
  var profile = "horowitz-45nm"
  @Option(help: "Where weights live in the model: dram or sram.") var weightsFrom = "dram"
  @Option(parsing: .unconditional, help: "Index bits per non-zero in the sparse storage model.") var indexBits = 5
  @Option(help: "Watts per busy hardware thread for the estimate, as LOW-HIGH (default 1.3-10).")
  var wattsPerThread: String?
  @OptionGroup var seeds: SeedOption
  @OptionGroup var threads: ThreadsOption
  @OptionGroup var format: JSONOption
  @OptionGroup var verbosity: VerbosityOptions
  @Option(help: "Also append CodeCarbon-style emissions rows to this CSV (created with its header).")
  var csv: String?
  @Option(help: "Also write a report: .md, .html or .json.") var report: String?

  func validate() throws {
    guard (1...2).contains(models.count) else { throw ValidationError("give one or two models") }
    try OptionCheck.int(batch, "--batch", in: 1...OptionCheck.maxSize)
    try OptionCheck.int(sequence, "--sequence", in: 1...OptionCheck.maxSize)
    try OptionCheck.int(runs, "--runs", in: 1...1_000_000)
    try OptionCheck.int(repeats, "--repeats", in: 1...1000)
    try OptionCheck.number(minSeconds, "--min-seconds", in: 0...3600)
    try OptionCheck.number(pue, "--pue", in: 1...10, openUpper: true)
    if let csv {
      try OptionCheck.output(csv, "--csv", inputs: models, extensions: ["csv"])
      _ = try Self.existingEmissions(csv)
    }
    if let report { try OptionCheck.output(report, "--report", inputs: models, extensions: ["md", "html", "json"]) }
    guard WeightMemory(rawValue: weightsFrom) != nil else {
      throw ValidationError("--weights-from must be dram or sram")
    }
    try OptionCheck.int(indexBits, "--index-bits", in: 0...64)
    if let band = wattsPerThread { _ = try Self.wattsBand(band) }
  }

  /// The rows already in an emissions CSV ("" when there is none); its header must be ours, so that
  /// appending keeps one table (CodeCarbon appends to emissions.csv the same way).
  static func existingEmissions(_ path: String) throws -> String {
    guard FileManager.default.fileExists(atPath: path) else { return "" }
    guard let data = FileManager.default.contents(atPath: path) else {
      throw ValidationError("--csv \(path): cannot read the existing file to append to it")
    }
    let text = String(decoding: data, as: UTF8.self)
    if text.isEmpty { return "" }
    let header = EmissionsRecord.columns.joined(separator: ",")
    guard text.split(separator: "\n", maxSplits: 1).first.map(String.init) == header else {
      throw ValidationError(
        "--csv \(path): its first line is not PruneKit's emissions header (\(EmissionsRecord.columns.count) "
          + "CodeCarbon columns + provenance, method, low, high); expected a file written by prunekit energy")
    }
    return text.hasSuffix("\n") ? text : text + "\n"
  }

  /// What `--json` prints: every figure as a number.
  struct Output: Encodable {
    struct Ratio: Encodable {
      let method: String
      let value: Double
      let median: Double?
      let p10: Double?
      let p90: Double?
      let noMeasurableDifference: Bool?
    }
    let models: [ModelEnergy]
    let ratios: [Ratio]
  }

  /// "1.3-10" → (1.3, 10): finite, 0 < low ≤ high ≤ 10 kW.
  static func wattsBand(_ text: String) throws -> (low: Double, high: Double) {
    let parts = text.split(separator: "-").compactMap { Double($0) }
    guard parts.count == 2, parts.allSatisfy(\.isFinite), parts[0] > 0, parts[0] <= parts[1], parts[1] <= 1e4
    else {
      throw ValidationError("--watts-per-thread \(text): expected LOW-HIGH, e.g. 2-8 (0 < LOW ≤ HIGH ≤ 10000)")
    }
    return (parts[0], parts[1])
  }

  /// Refuses sizes too large to allocate, before any allocation: each input (batch on axis 0,
  /// `sequence` on later symbolic axes, as `syntheticInputs` builds them) and the largest value of
  /// the run (shape inference) at most 2^30 elements.
  static func checkSizes(_ graph: Graph, batch: Int, sequence: Int, path: String) throws {
    let limit = 1 << 30
    var shapes: [String: [Int]] = [:]
    for info in graph.inputs where graph.initializers[info.name] == nil {
      let dims = (info.shape ?? []).enumerated().map { axis, dim -> Int in
        if case .fixed(let n) = dim { return n }
        return axis == 0 ? batch : sequence
      }
      var count = 1
      for d in dims {
        let (p, overflow) = count.multipliedReportingOverflow(by: d)
        guard !overflow, p <= limit else {
          throw ValidationError(
            "\(path): input '\(info.name)' would be \(dims) at --batch \(batch) --sequence \(sequence); "
              + "expected at most 2^30 elements")
        }
        count = p
      }
      shapes[info.name] = dims
    }
    let largest = try graph.largestValue(inputShapes: shapes)
    guard largest.elements <= limit else {
      throw ValidationError(
        "\(path): value '\(largest.name)' would be \(largest.shape) at --batch \(batch) --sequence \(sequence); "
          + "expected at most 2^30 elements per value (lower --batch or --sequence)")
    }
  }

  func run() throws {
    var options = EnergyRunOptions()
    options.batch = batch
    options.sequence = sequence
    options.runs = runs
    options.minSeconds = minSeconds
    options.region = region
    options.pue = pue
    options.profile = profile
    options.weightsFrom = WeightMemory(rawValue: weightsFrom)!
    options.indexBits = indexBits
    options.seed = seeds.seed
    options.repeats = repeats
    if let band = wattsPerThread {
      let (low, high) = try Self.wattsBand(band)
      options.probe = .system(fallback: CPUTimeEstimator(wattsPerThreadLow: low, wattsPerThreadHigh: high))
    }
    let graphs = try models.map { path in
      let graph = try ModelFile.loadAny(path)
      try Self.checkSizes(graph, batch: batch, sequence: sequence, path: path)
      return graph
    }
    let named = zip(models, graphs).map { (name: ($0 as NSString).lastPathComponent, graph: $1) }
    let results = try measureEnergy(of: named, options: options)
    let document = EnergyReporting.document(results)
    if format.json {
      var ratios: [Output.Ratio] = []
      if results.count == 2 {
        let spread = EnergyReporting.runRatio(results[0], results[1])
        for (method, value) in EnergyReporting.ratios(results[0], results[1]).sorted(by: { $0.key < $1.key }) {
          let run = method.hasSuffix("(run)") ? spread : nil
          ratios.append(
            Output.Ratio(
              method: method, value: value, median: run?.median, p10: run?.p10, p90: run?.p90,
              noMeasurableDifference: run?.spansOne))
        }
      }
      try JSONOutput.print(Output(models: results, ratios: ratios), command: "energy")
    } else {
      print(document.markdown(includeCharts: false))
    }
    if let csv {
      let rows = EmissionsRecord.csv(EnergyReporting.emissionsRecords(results))
      let existing = try Self.existingEmissions(csv)
      let appended = existing.isEmpty ? rows : existing + rows.split(separator: "\n", maxSplits: 1)[1]
      try AtomicFile.write(Data(appended.utf8), to: csv)
    }
    if let report { try writeReport(document, to: report) }
  }
}

/// Writes a report in the format its extension names (.md, .html, .json), atomically.
func writeReport(_ document: ReportDocument, to path: String) throws {
  switch (path as NSString).pathExtension.lowercased() {
  case "md": try AtomicFile.write(Data(document.markdown().utf8), to: path)
  case "html": try AtomicFile.write(Data(document.html().utf8), to: path)
  case "json": try AtomicFile.write(try document.json(), to: path)
  default: throw ValidationError("\(path): report format must be .md, .html or .json")
  }
}
