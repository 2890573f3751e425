/// How a figure was obtained. Every energy figure PruneKit reports carries one.
public enum Provenance: String, Codable, Sendable, CaseIterable {
  /// Read from a hardware energy counter (RAPL, hwmon, perf, NVML) around the work.
  case measured
  /// Derived from a measured quantity that is only proportional to energy (CPU time × watts).
  case estimated
  /// Computed from the model's operation and byte counts and a hardware energy table.
  case modelled
}

/// An energy figure with its provenance, method, constants and uncertainty band.
public struct EnergyFigure: Codable, Sendable, Equatable {
  /// Central value, joules.
  public var joules: Double
  /// Low and high ends of the band, joules (equal to `joules` for a single measurement).
  public var low: Double
  public var high: Double
  public var provenance: Provenance
  /// One line: what was read or computed ("RAPL package-0 + dram", "CPU time × W per busy thread").
  public var method: String
  /// Constants used, name → value with unit and source.
  public var constants: [String: String]
  /// Caveats a reader must see next to the number.
  public var notes: [String]
  /// Joules per measured domain ("package-0", "dram-0", "gpu-0"); empty when not measured.
  public var domains: [String: Double]

  public init(
    joules: Double, low: Double? = nil, high: Double? = nil, provenance: Provenance, method: String,
    constants: [String: String] = [:], notes: [String] = [], domains: [String: Double] = [:]
  ) {
    self.joules = joules
    self.low = low ?? joules
    self.high = high ?? joules
    self.provenance = provenance
    self.method = method
    self.constants = constants
    self.notes = notes
    self.domains = domains
  }

  /// The same figure scaled by `factor` (e.g. per inference → per million inferences).
  public func scaled(by factor: Double) -> EnergyFigure {
    var copy = self
    copy.joules *= factor
    copy.low *= factor
    copy.high *= factor
    copy.domains = domains.mapValues { $0 * factor }
    return copy
  }

  public var kilowattHours: Double { joules / 3.6e6 }
}
