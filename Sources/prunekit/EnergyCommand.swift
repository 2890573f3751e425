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

  @Option(help: "Samples per run.") var batch = 1
  @Option(help: "Size of symbolic dimensions other than the batch (e.g. sequence length).") var sequence = 64
  @Option(help: "Timed runs (at least; more are made until --min-seconds have passed).") var runs = 20
  @Option(help: "Minimum measured time, seconds: short regions make counters and CPU time coarse.")
  var minSeconds = 1.0
  @Option(help: "Grid region, ISO 3166 alpha-3 (FRA, USA, …); default: world average 475 g/kWh.")
  var region: String?
  @Option(help: "Power usage effectiveness (1.0 = machine only; 1.58 = Uptime Institute average).")
  var pue = 1.0
  @Option(help: "Hardware profile for the modelled figure: horowitz-45nm or jouppi-7nm.")
  var profile = "horowitz-45nm"
  @Option(help: "Where weights live in the model: dram or sram.") var weightsFrom = "dram"
  @Option(help: "Index bits per non-zero in the sparse storage model.") var indexBits = 5
  @Option(help: "Watts per busy hardware thread for the estimate, as LOW-HIGH (default 1.3-10).")
  var wattsPerThread: String?
  @Option(help: "Seed of the synthetic inputs.") var seed: UInt64 = 0
  @Flag(help: "Print JSON instead of tables.") var json = false
  @Option(help: "Also write CodeCarbon-style emissions CSV here.") var csv: String?
  @Option(help: "Also write a report: .md, .html or .json.") var report: String?

  func validate() throws {
    guard (1...2).contains(models.count) else { throw ValidationError("give one or two models") }
    guard batch > 0, runs > 0, sequence > 0 else {
      throw ValidationError("--batch, --runs and --sequence must be positive")
    }
    guard pue >= 1, pue < 10 else { throw ValidationError("--pue must be in [1, 10), got \(pue)") }
    guard WeightMemory(rawValue: weightsFrom) != nil else {
      throw ValidationError("--weights-from must be dram or sram")
    }
    guard (0...64).contains(indexBits) else { throw ValidationError("--index-bits must be in 0...64") }
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
      let parts = band.split(separator: "-").compactMap { Double($0) }
      guard parts.count == 2, parts[0] > 0, parts[0] <= parts[1] else {
        throw ValidationError("--watts-per-thread must be LOW-HIGH, e.g. 2-8")
      }
      options.probe = .system(
        fallback: CPUTimeEstimator(wattsPerThreadLow: parts[0], wattsPerThreadHigh: parts[1]))
    }
    let results = try models.map { path in
      try measureEnergy(
        of: ModelFile.loadAny(path), named: (path as NSString).lastPathComponent, options: options)
    }
    let document = EnergyReporting.document(results)
    if json {
      print(String(decoding: try document.json(), as: UTF8.self))
    } else {
      print(document.markdown(includeCharts: false))
    }
    if let csv {
      try writeAtomically(Data(EmissionsRecord.csv(EnergyReporting.emissionsRecords(results)).utf8), to: csv)
    }
    if let report { try writeReport(document, to: report) }
  }
}

/// Writes a report in the format its extension names (.md, .html, .json), atomically.
func writeReport(_ document: ReportDocument, to path: String) throws {
  switch (path as NSString).pathExtension.lowercased() {
  case "md": try writeAtomically(Data(document.markdown().utf8), to: path)
  case "html": try writeAtomically(Data(document.html().utf8), to: path)
  case "json": try writeAtomically(try document.json(), to: path)
  default: throw ValidationError("\(path): report format must be .md, .html or .json")
  }
}
