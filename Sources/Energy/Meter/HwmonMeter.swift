import Foundation

/// hwmon energy counters (`/sys/class/hwmon/hwmon*/energyN_input`, microjoules), as exposed by the
/// `amd_energy` driver: per-core counters (`Ecore000`…) nested inside per-socket ones (`Esocket0`).
/// Sockets are summed when present (cores would count twice); otherwise every counter.
public struct HwmonSource: CounterSource {
  public let root: String
  public var name: String { "hwmon" }

  public let reader: SysfsReader

  public init(root: String = "/sys/class/hwmon", reader: @escaping SysfsReader = readSysfs) {
    self.root = root
    self.reader = reader
  }

  struct Counter {
    var path: String
    var domain: String
  }

  func counters() throws -> [Counter] {
    guard let devices = try? FileManager.default.contentsOfDirectory(atPath: root) else {
      throw EnergyError.unreadable(path: root, reason: "no hwmon directory")
    }
    var all: [Counter] = []
    for device in devices.sorted() {
      let dir = root + "/" + device
      let files = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
      let chip = (try? reader(dir + "/name")) ?? device
      for file in files.sorted() where file.hasPrefix("energy") && file.hasSuffix("_input") {
        let stem = String(file.dropLast("_input".count))
        let label = (try? reader(dir + "/\(stem)_label")) ?? stem
        all.append(Counter(path: dir + "/" + file, domain: "\(chip):\(label)"))
      }
    }
    let sockets = all.filter { $0.domain.lowercased().contains("socket") }
    return sockets.isEmpty ? all : sockets
  }

  public func availability() -> MeterAvailability {
    do {
      let counters = try counters()
      guard !counters.isEmpty else { return .unavailable(reason: "no energy*_input under \(root)") }
      for counter in counters { _ = try readCounterValue(counter.path, reader) }
      return .available(counters.map(\.domain).joined(separator: ", "))
    } catch {
      return .unavailable(reason: "\(error)")
    }
  }

  public func read() throws -> [EnergyCounter] {
    try counters().map {
      EnergyCounter(domain: $0.domain, microjoules: try readCounterValue($0.path, reader))
    }
  }
}
