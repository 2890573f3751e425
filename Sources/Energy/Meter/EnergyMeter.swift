import Foundation

/// Whether a meter can be used here, and if not, why.
public enum MeterAvailability: Equatable, Sendable {
  /// Usable; the payload names what it reads ("package-0, dram-0").
  case available(String)
  case unavailable(reason: String)

  public var isAvailable: Bool {
    if case .available = self { return true }
    return false
  }
}

/// A meter measures the energy of a region of work: `begin()` before, `end()` after.
public protocol EnergyMeter: Sendable {
  /// Short name for reports ("RAPL", "hwmon", "perf", "NVML").
  var name: String { get }
  /// Probes the hardware/OS; never throws.
  func availability() -> MeterAvailability
  /// Starts measuring. `samplingInterval`: for long regions, counters are read in the background
  /// this often (seconds) so that wrap-arounds are not missed; nil = only at begin and end.
  func begin(samplingInterval: Double?) throws -> any EnergyRegion
}

/// A region being measured.
public protocol EnergyRegion: AnyObject {
  /// Stops and returns the region's energy with its provenance.
  func end() throws -> EnergyFigure
}

/// What a meter read over a region.
public struct MeasuredEnergy: Codable, Sendable, Equatable {
  public var meter: String
  /// Joules per domain ("package-0", "dram-0", "gpu-0").
  public var domains: [String: Double]
  /// Wall-clock seconds of the region.
  public var seconds: Double

  public var joules: Double { domains.values.reduce(0, +) }

  public var figure: EnergyFigure {
    let parts = domains.keys.sorted().joined(separator: " + ")
    return EnergyFigure(
      joules: joules, provenance: .measured, method: "\(meter) energy counters: \(parts)",
      constants: ["duration_s": String(format: "%.6f", seconds)], domains: domains)
  }
}
