import Foundation

/// Linux powercap RAPL (`/sys/class/powercap/intel-rapl:*`; AMD CPUs use the same interface).
///
/// Domains: top-level zones are packages (`package-N`), sometimes `psys` (the platform, which
/// contains the packages) or `dram`; sub-zones are `core`/`uncore` (inside the package) and `dram`
/// (outside it). To count nothing twice we sum packages plus every `dram` zone; `psys` is used only
/// when there is no package zone. Counters wrap at `max_energy_range_uj`.
public struct RAPLSource: CounterSource {
  public let root: String
  public var name: String { "RAPL" }

  public let reader: SysfsReader

  public init(root: String = "/sys/class/powercap", reader: @escaping SysfsReader = readSysfs) {
    self.root = root
    self.reader = reader
  }

  struct Zone {
    var path: String
    var domain: String
  }

  /// The zones that are summed, after the no-double-counting rule.
  func zones() throws -> [Zone] {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: root) else {
      throw EnergyError.unreadable(path: root, reason: "no powercap directory")
    }
    let raplEntries = entries.filter { $0.hasPrefix("intel-rapl:") || $0.hasPrefix("amd-rapl:") }.sorted()
    var packages: [Zone] = []
    var drams: [Zone] = []
    var platform: [Zone] = []
    for entry in raplEntries {
      let path = root + "/" + entry
      let name = (try? reader(path + "/name")) ?? entry
      let depth = entry.split(separator: ":").count - 1  // intel-rapl:0 → 1, intel-rapl:0:1 → 2
      let id = entry.split(separator: ":").dropFirst().joined(separator: ":")
      if name.hasPrefix("package") {
        if depth == 1 { packages.append(Zone(path: path, domain: name)) }
      } else if name == "dram" {
        drams.append(Zone(path: path, domain: "dram-\(id)"))
      } else if name == "psys", depth == 1 {
        platform.append(Zone(path: path, domain: "psys-\(id)"))
      }
    }
    return (packages.isEmpty ? platform : packages) + drams
  }

  public func availability() -> MeterAvailability {
    do {
      let zones = try zones()
      guard !zones.isEmpty else {
        return .unavailable(reason: "\(root) has no RAPL package, psys or dram zone")
      }
      for zone in zones { _ = try readCounterValue(zone.path + "/energy_uj", reader) }
      return .available(zones.map(\.domain).joined(separator: ", "))
    } catch EnergyError.unreadable(let path, let reason) {
      let hint =
        reason == "permission denied"
        ? " (energy_uj is readable by root only since Linux 5.10; run as root or grant read access)" : ""
      return .unavailable(reason: "\(path): \(reason)\(hint)")
    } catch {
      return .unavailable(reason: "\(error)")
    }
  }

  public func read() throws -> [EnergyCounter] {
    try zones().map { zone in
      EnergyCounter(
        domain: zone.domain, microjoules: try readCounterValue(zone.path + "/energy_uj", reader),
        wrapMicrojoules: try? readCounterValue(zone.path + "/max_energy_range_uj", reader))
    }
  }
}
