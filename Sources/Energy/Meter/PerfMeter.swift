import Foundation

/// `perf stat -a -e power/energy-pkg/,power/energy-ram/` around the region (system-wide RAPL
/// through the perf PMU; needs perf and the `power` event source, usually root).
public struct PerfMeter: EnergyMeter {
  public var name: String { "perf" }
  public let eventRoot: String
  public let searchPath: String

  public init(
    eventRoot: String = "/sys/bus/event_source/devices/power/events",
    searchPath: String = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
  ) {
    self.eventRoot = eventRoot
    self.searchPath = searchPath
  }

  var perfExecutable: String? {
    for dir in searchPath.split(separator: ":") {
      let candidate = "\(dir)/perf"
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
  }

  var events: [String] {
    ["energy-pkg", "energy-ram"].filter { FileManager.default.fileExists(atPath: "\(eventRoot)/\($0)") }
  }

  public func availability() -> MeterAvailability {
    guard perfExecutable != nil else { return .unavailable(reason: "no perf executable on PATH") }
    guard events.contains("energy-pkg") else {
      return .unavailable(reason: "\(eventRoot)/energy-pkg not present (no RAPL perf PMU)")
    }
    return .available(events.joined(separator: ", "))
  }

  public func begin(samplingInterval: Double?) throws -> any EnergyRegion {
    guard let perf = perfExecutable, events.contains("energy-pkg") else {
      if case .unavailable(let reason) = availability() {
        throw EnergyError.meterUnavailable(meter: name, reason: reason)
      }
      throw EnergyError.meterUnavailable(meter: name, reason: "not usable")
    }
    return try PerfRegion(perf: perf, events: events.map { "power/\($0)/" })
  }

  /// Parses `perf stat -x,` output: lines `value,unit,event,…`; `<not supported>` → error.
  public static func parse(_ text: String) throws -> [String: Double] {
    var domains: [String: Double] = [:]
    for line in text.split(separator: "\n") {
      let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
      guard fields.count >= 3, fields[2].hasPrefix("power/energy-") else { continue }
      guard let joules = Double(fields[0]) else {
        throw EnergyError.meterUnavailable(meter: "perf", reason: "\(fields[2]) reported '\(fields[0])'")
      }
      let domain = fields[2].replacingOccurrences(of: "power/energy-", with: "")
        .replacingOccurrences(of: "/", with: "")
      domains[domain == "pkg" ? "package" : domain] = joules
    }
    guard !domains.isEmpty else {
      throw EnergyError.meterUnavailable(meter: "perf", reason: "no energy lines in perf output")
    }
    return domains
  }
}

final class PerfRegion: EnergyRegion {
  private let process = Process()
  private let errors = Pipe()
  private let started = Date()

  init(perf: String, events: [String]) throws {
    process.executableURL = URL(fileURLWithPath: perf)
    process.arguments = ["stat", "-a", "-x", ","] + events.flatMap { ["-e", $0] }
    process.standardError = errors
    process.standardOutput = FileHandle.nullDevice
    try process.run()
  }

  func end() throws -> EnergyFigure {
    process.interrupt()
    process.waitUntilExit()
    let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    return MeasuredEnergy(
      meter: "perf", domains: try PerfMeter.parse(text), seconds: Date().timeIntervalSince(started)
    ).figure
  }
}
