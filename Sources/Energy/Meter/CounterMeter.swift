import Foundation

/// One cumulative hardware energy counter.
public struct EnergyCounter: Sendable, Equatable {
  public var domain: String
  /// Cumulative energy, microjoules.
  public var microjoules: UInt64
  /// The value after which the counter wraps to 0 (RAPL `max_energy_range_uj`); nil = never wraps.
  public var wrapMicrojoules: UInt64?

  public init(domain: String, microjoules: UInt64, wrapMicrojoules: UInt64? = nil) {
    self.domain = domain
    self.microjoules = microjoules
    self.wrapMicrojoules = wrapMicrojoules
  }
}

/// A source of cumulative counters (RAPL, hwmon, NVML).
public protocol CounterSource: Sendable {
  var name: String { get }
  func availability() -> MeterAvailability
  func read() throws -> [EnergyCounter]
}

/// Energy between two readings of one counter, microjoules, accounting for one wrap-around.
public func counterDelta(from start: EnergyCounter, to end: EnergyCounter) -> UInt64 {
  if end.microjoules >= start.microjoules { return end.microjoules - start.microjoules }
  guard let wrap = end.wrapMicrojoules, wrap >= start.microjoules else {
    // A counter without a known range went backwards: it was reset; count from zero.
    return end.microjoules
  }
  return (wrap - start.microjoules) + end.microjoules
}

/// Every counter source is a meter: readings at begin, at end, and optionally in between.
public struct CounterMeter: EnergyMeter {
  public let source: any CounterSource
  public var name: String { source.name }

  public init(_ source: any CounterSource) { self.source = source }

  public func availability() -> MeterAvailability { source.availability() }

  public func begin(samplingInterval: Double?) throws -> any EnergyRegion {
    if case .unavailable(let reason) = source.availability() {
      throw EnergyError.meterUnavailable(meter: name, reason: reason)
    }
    return try CounterRegion(source: source, samplingInterval: samplingInterval)
  }
}

/// Accumulates counter deltas; a background thread samples during long regions.
final class CounterRegion: EnergyRegion, @unchecked Sendable {
  private let source: any CounterSource
  private let lock = NSLock()
  private var last: [String: EnergyCounter] = [:]
  private var total: [String: UInt64] = [:]
  private var sampleError: Error?
  private let started = Date()
  private var sampler: Thread?
  private var stopped = false

  init(source: any CounterSource, samplingInterval: Double?) throws {
    self.source = source
    for counter in try source.read() {
      last[counter.domain] = counter
      total[counter.domain] = 0
    }
    if let interval = samplingInterval, interval > 0 {
      let thread = Thread { [weak self] in
        while let region = self, !region.isStopped {
          Thread.sleep(forTimeInterval: interval)
          region.sample()
        }
      }
      sampler = thread
      thread.start()
    }
  }

  private var isStopped: Bool {
    lock.lock()
    defer { lock.unlock() }
    return stopped
  }

  func sample() {
    do {
      let readings = try source.read()
      lock.lock()
      defer { lock.unlock() }
      for counter in readings {
        if let previous = last[counter.domain] {
          total[counter.domain, default: 0] += counterDelta(from: previous, to: counter)
        }
        last[counter.domain] = counter
      }
    } catch {
      lock.lock()
      sampleError = error
      lock.unlock()
    }
  }

  func end() throws -> EnergyFigure {
    sample()
    lock.lock()
    stopped = true
    let totals = total
    let error = sampleError
    lock.unlock()
    if let error { throw error }
    return MeasuredEnergy(
      meter: source.name, domains: totals.mapValues { Double($0) * 1e-6 },
      seconds: Date().timeIntervalSince(started)
    ).figure
  }
}

/// Reads a sysfs file as trimmed text; a seam so tests can fake permission errors (root reads all).
public typealias SysfsReader = @Sendable (String) throws -> String

/// Reads a small sysfs text file; distinguishes missing from permission denied.
public func readSysfs(_ path: String) throws -> String {
  guard FileManager.default.fileExists(atPath: path) else {
    throw EnergyError.unreadable(path: path, reason: "no such file")
  }
  guard FileManager.default.isReadableFile(atPath: path),
    let data = FileManager.default.contents(atPath: path)
  else {
    throw EnergyError.unreadable(path: path, reason: "permission denied")
  }
  return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}

func readCounterValue(_ path: String, _ read: SysfsReader = readSysfs) throws -> UInt64 {
  let text = try read(path)
  guard let value = UInt64(text) else { throw EnergyError.malformedCounter(path: path, found: text) }
  return value
}
