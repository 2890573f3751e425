import ArgumentParser
import Foundation
import PruneKit

struct EnergyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "energy",
    abstract: "Energy and CO2 per inference: measured (RAPL, hwmon, perf, NVML) or estimated, and modelled.",
    discussion: """
      Runs MODEL --runs times on seeded synthetic inputs of --batch samples and reports energy per
      inference and per million inferences with its provenance: `measured` when an energy counter is
      readable, else `estimated` (CPU time × power per busy thread: proportional to CPU time, given
      as a low–high band). It also prints the `modelled` energy from the model's MACs and bytes with a
      hardware profile (horowitz-45nm, jouppi-7nm): dense fp32 weights, and for a model with zeros,
      sparse storage (values + --index-bits per non-zero). With two models, the first/second ratio is
      computed with the same method for both.
      """)

  @Argument(help: "One or two models (.onnx, …): e.g. dense then pruned.")
  var models: [String]

  @Option(parsing: .unconditional, help: "Samples per run.") var batch = 1
  @Option(parsing: .unconditional, help: "Size of symbolic dimensions other than the batch (e.g. sequence length).")
  var sequence = 64
  @Option(parsing: .unconditional, help: "Timed runs (at least; more are made until --min-seconds have passed).")
  var runs = 20
  @Option(
    parsing: .unconditional,
    help: "Minimum measured time, seconds (0-3600): short regions make counters and CPU time coarse.")
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
  @Option(help: "Seed of the synthetic inputs.") var seed: UInt64 = 0
  @Flag(help: "Print JSON instead of tables.") var json = false
  @Option(help: "Also write CodeCarbon-style emissions CSV here.") var csv: String?
  @Option(help: "Also write a report: .md, .html or .json.") var report: String?

  func validate() throws {
    guard (1...2).contains(models.count) else { throw ValidationError("give one or two models") }
    try OptionCheck.int(batch, "--batch", in: 1...OptionCheck.maxSize)
    try OptionCheck.int(sequence, "--sequence", in: 1...OptionCheck.maxSize)
    try OptionCheck.int(runs, "--runs", in: 1...1_000_000)
    try OptionCheck.number(minSeconds, "--min-seconds", in: 0...3600)
    try OptionCheck.number(pue, "--pue", in: 1...10, openUpper: true)
    if let csv { try OptionCheck.output(csv, "--csv", inputs: models) }
    if let report { try OptionCheck.output(report, "--report", inputs: models, extensions: ["md", "html", "json"]) }
    guard WeightMemory(rawValue: weightsFrom) != nil else {
      throw ValidationError("--weights-from must be dram or sram")
    }
    try OptionCheck.int(indexBits, "--index-bits", in: 0...64)
    if let band = wattsPerThread { _ = try Self.wattsBand(band) }
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
    options.seed = seed
    if let band = wattsPerThread {
      let (low, high) = try Self.wattsBand(band)
      options.probe = .system(fallback: CPUTimeEstimator(wattsPerThreadLow: low, wattsPerThreadHigh: high))
    }
    let graphs = try models.map { path in
      let graph = try ModelFile.loadAny(path)
      try Self.checkSizes(graph, batch: batch, sequence: sequence, path: path)
      return graph
    }
    let results = try zip(models, graphs).map { path, graph in
      try measureEnergy(of: graph, named: (path as NSString).lastPathComponent, options: options)
    }
    let document = EnergyReporting.document(results)
    if json {
      print(String(decoding: try document.json(), as: UTF8.self))
    } else {
      print(document.markdown(includeCharts: false))
    }
    if let csv {
      try AtomicFile.write(Data(EmissionsRecord.csv(EnergyReporting.emissionsRecords(results)).utf8), to: csv)
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
