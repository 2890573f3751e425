/// Chooses how to account for energy here: the first readable CPU meter in the order
/// RAPL → hwmon → perf, else the CPU-time estimate; NVML is added for GPUs when readable.
/// Every meter not used says why (`skipped`), so that a fallback is never silent.
public struct EnergyProbe: Sendable {
  public var cpuMeters: [any EnergyMeter]
  public var gpuMeters: [any EnergyMeter]
  public var fallback: CPUTimeEstimator

  public init(
    cpuMeters: [any EnergyMeter], gpuMeters: [any EnergyMeter],
    fallback: CPUTimeEstimator = CPUTimeEstimator()
  ) {
    self.cpuMeters = cpuMeters
    self.gpuMeters = gpuMeters
    self.fallback = fallback
  }

  /// The meters of this machine, with sysfs at its usual place.
  public static func system(fallback: CPUTimeEstimator = CPUTimeEstimator()) -> EnergyProbe {
    EnergyProbe(
      cpuMeters: [CounterMeter(RAPLSource()), CounterMeter(HwmonSource()), PerfMeter()],
      gpuMeters: [CounterMeter(NVMLSource())], fallback: fallback)
  }

  /// The chosen meters and one line per meter that was skipped, with its reason.
  public func choose() -> (cpu: any EnergyMeter, gpu: [any EnergyMeter], skipped: [String]) {
    var skipped: [String] = []
    var cpu: (any EnergyMeter)?
    for meter in cpuMeters {
      switch meter.availability() {
      case .available: if cpu == nil { cpu = meter }
      case .unavailable(let reason): skipped.append("\(meter.name): \(reason)")
      }
    }
    var gpu: [any EnergyMeter] = []
    for meter in gpuMeters {
      switch meter.availability() {
      case .available: gpu.append(meter)
      case .unavailable(let reason): skipped.append("\(meter.name): \(reason)")
      }
    }
    return (cpu ?? fallback, gpu, skipped)
  }
}

/// Measures one region with the probe's choice: CPU (measured or estimated) plus GPUs.
public final class EnergySession {
  public let skipped: [String]
  private var regions: [any EnergyRegion]

  public init(probe: EnergyProbe, samplingInterval: Double? = nil) throws {
    let choice = probe.choose()
    skipped = choice.skipped
    regions = try ([choice.cpu] + choice.gpu).map { try $0.begin(samplingInterval: samplingInterval) }
  }

  /// Stops every region. The first figure is the CPU side; GPU figures follow.
  public func stop() throws -> [EnergyFigure] {
    let figures = try regions.map { try $0.end() }
    regions = []
    return figures.map { figure in
      var labelled = figure
      if !skipped.isEmpty, figure.provenance != .measured {
        labelled.notes.append(contentsOf: skipped.map { "not used: \($0)" })
      }
      return labelled
    }
  }
}

/// Sums figures of the same provenance; mixed provenances sum to the weakest one
/// (measured < estimated < modelled in strength order), keeping every method.
public func combine(_ figures: [EnergyFigure]) -> EnergyFigure? {
  guard !figures.isEmpty else { return nil }
  let order: [Provenance] = [.measured, .estimated, .modelled]
  let weakest = figures.map(\.provenance).max { order.firstIndex(of: $0)! < order.firstIndex(of: $1)! }!
  var total = EnergyFigure(
    joules: 0, low: 0, high: 0, provenance: weakest,
    method: figures.map(\.method).joined(separator: " + "))
  for figure in figures {
    total.joules += figure.joules
    total.low += figure.low
    total.high += figure.high
    total.constants.merge(figure.constants) { a, _ in a }
    total.notes += figure.notes
    total.domains.merge(figure.domains) { $0 + $1 }
  }
  return total
}
