import Foundation
import Testing

@testable import Energy

/// Builds a fake sysfs tree in a temporary folder.
final class FakeSysfs {
  let root: String

  init() throws {
    root = NSTemporaryDirectory() + "prunekit-sysfs-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
  }

  deinit { try? FileManager.default.removeItem(atPath: root) }

  func write(_ relative: String, _ text: String) throws {
    let path = root + "/" + relative
    try FileManager.default.createDirectory(
      atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try text.write(toFile: path, atomically: true, encoding: .utf8)
  }

  func zone(_ id: String, name: String, energy: UInt64, range: UInt64 = 262_143_328_850) throws {
    try write("intel-rapl:\(id)/name", name + "\n")
    try write("intel-rapl:\(id)/energy_uj", "\(energy)\n")
    try write("intel-rapl:\(id)/max_energy_range_uj", "\(range)\n")
  }
}

@Suite struct RAPLTests {
  @Test func sumsPackagesAndDramButNotNestedCoreOrPsys() throws {
    let fs = try FakeSysfs()
    try fs.zone("0", name: "package-0", energy: 1_000)
    try fs.zone("0:0", name: "core", energy: 500)
    try fs.zone("0:1", name: "uncore", energy: 100)
    try fs.zone("0:2", name: "dram", energy: 2_000)
    try fs.zone("1", name: "package-1", energy: 3_000)
    try fs.zone("2", name: "psys", energy: 9_000)
    let source = RAPLSource(root: fs.root)
    let domains = try source.read().map(\.domain)
    #expect(domains == ["package-0", "package-1", "dram-0:2"])
    #expect(source.availability() == .available("package-0, package-1, dram-0:2"))
  }

  @Test func psysIsUsedOnlyWithoutPackages() throws {
    let fs = try FakeSysfs()
    try fs.zone("0", name: "psys", energy: 10)
    #expect(try RAPLSource(root: fs.root).read().map(\.domain) == ["psys-0"])
  }

  @Test func regionAccountsForWrapAround() throws {
    let fs = try FakeSysfs()
    try fs.zone("0", name: "package-0", energy: 999_000, range: 1_000_000)
    let region = try CounterMeter(RAPLSource(root: fs.root)).begin(samplingInterval: nil)
    try fs.zone("0", name: "package-0", energy: 4_000, range: 1_000_000)  // wrapped
    let figure = try region.end()
    #expect(figure.provenance == .measured)
    #expect(abs(figure.joules - 0.005) < 1e-12)  // 1_000 µJ to the wrap + 4_000 µJ after
  }

  @Test func counterDeltaTable() {
    let cases: [(UInt64, UInt64, UInt64?, UInt64)] = [
      (10, 25, 100, 15), (90, 5, 100, 15), (90, 5, nil, 5), (0, 0, 100, 0),
    ]
    for (start, end, wrap, expected) in cases {
      let delta = counterDelta(
        from: EnergyCounter(domain: "p", microjoules: start, wrapMicrojoules: wrap),
        to: EnergyCounter(domain: "p", microjoules: end, wrapMicrojoules: wrap))
      #expect(delta == expected, "start \(start) end \(end) wrap \(String(describing: wrap))")
    }
  }

  @Test func missingTreeIsUnavailableWithReason() {
    let availability = RAPLSource(root: "/nonexistent/powercap").availability()
    #expect(availability == .unavailable(reason: "/nonexistent/powercap: no powercap directory"))
  }

  @Test func permissionDeniedSaysWhyAndHowToFix() throws {
    let fs = try FakeSysfs()
    try fs.zone("0", name: "package-0", energy: 1)
    let denying: SysfsReader = { path in
      if path.hasSuffix("energy_uj") {
        throw EnergyError.unreadable(path: path, reason: "permission denied")
      }
      return try readSysfs(path)
    }
    guard case .unavailable(let reason) = RAPLSource(root: fs.root, reader: denying).availability() else {
      Issue.record("expected unavailable")
      return
    }
    #expect(reason.contains("intel-rapl:0/energy_uj: permission denied"))
    #expect(reason.contains("root"))
  }

  @Test func malformedCounterIsAnError() throws {
    let fs = try FakeSysfs()
    try fs.write("intel-rapl:0/name", "package-0")
    try fs.write("intel-rapl:0/energy_uj", "lots")
    #expect(throws: EnergyError.malformedCounter(path: fs.root + "/intel-rapl:0/energy_uj", found: "lots")) {
      try RAPLSource(root: fs.root).read()
    }
  }

  @Test func backgroundSamplingCatchesEveryWrap() throws {
    let fs = try FakeSysfs()
    try fs.zone("0", name: "package-0", energy: 0, range: 1_000)
    let region = try CounterMeter(RAPLSource(root: fs.root)).begin(samplingInterval: 0.01)
    // Three full-range laps, each observed by the sampler (≥ 5 samples per lap).
    for lap in 0..<3 {
      for value in stride(from: 250, through: 1_000, by: 250) {
        try fs.zone("0", name: "package-0", energy: UInt64(value % 1_000), range: 1_000)
        Thread.sleep(forTimeInterval: 0.06)
      }
      _ = lap
    }
    let figure = try region.end()
    #expect(abs(figure.joules - 3_000e-6) < 1e-12)
  }
}

@Suite struct HwmonTests {
  @Test func socketsAreSummedAndCoresSkipped() throws {
    let fs = try FakeSysfs()
    try fs.write("hwmon3/name", "amd_energy")
    try fs.write("hwmon3/energy1_input", "100")
    try fs.write("hwmon3/energy1_label", "Ecore000")
    try fs.write("hwmon3/energy2_input", "900")
    try fs.write("hwmon3/energy2_label", "Esocket0")
    try fs.write("hwmon0/name", "k10temp")
    try fs.write("hwmon0/temp1_input", "41000")
    let source = HwmonSource(root: fs.root)
    #expect(try source.read() == [EnergyCounter(domain: "amd_energy:Esocket0", microjoules: 900)])
  }

  @Test func noEnergyCountersIsUnavailable() throws {
    let fs = try FakeSysfs()
    try fs.write("hwmon0/name", "k10temp")
    #expect(!HwmonSource(root: fs.root).availability().isAvailable)
  }
}

@Suite struct PerfTests {
  @Test func parsesPerfStatCSV() throws {
    let text = """
      # started on Sun Nov 29
      12.50,Joules,power/energy-pkg/,1001234,100.00,,
      3.25,Joules,power/energy-ram/,1001234,100.00,,
      """
    #expect(try PerfMeter.parse(text) == ["package": 12.5, "ram": 3.25])
  }

  @Test func notSupportedIsUnavailable() {
    #expect(throws: EnergyError.self) {
      try PerfMeter.parse("<not supported>,Joules,power/energy-pkg/,0,100.00,,")
    }
  }

  @Test func missingPerfIsUnavailable() {
    let meter = PerfMeter(eventRoot: "/nonexistent", searchPath: "/nonexistent-bin")
    #expect(meter.availability() == .unavailable(reason: "no perf executable on PATH"))
  }
}

/// A fake NVML: two GPUs whose counters advance by fixed steps per read.
final class FakeNVML: NVMLLibrary, @unchecked Sendable {
  var millijoules: [UInt64] = [1_000, 50_000]
  var failWith: EnergyError?
  func devices() throws -> [String] {
    if let failWith { throw failWith }
    return ["Fake H200", "Fake H200"]
  }
  func totalEnergyMillijoules(device: Int) throws -> UInt64 { millijoules[device] }
}

@Suite struct NVMLTests {
  @Test func measuresEveryGPUInMillijoules() throws {
    let fake = FakeNVML()
    let region = try CounterMeter(NVMLSource(library: fake)).begin(samplingInterval: nil)
    fake.millijoules = [3_500, 50_250]
    let figure = try region.end()
    #expect(figure.domains == ["gpu-0": 2.5, "gpu-1": 0.25])
    #expect(figure.provenance == .measured)
  }

  @Test func initFailureIsUnavailableNotAnError() {
    let fake = FakeNVML()
    fake.failWith = .meterUnavailable(meter: "NVML", reason: "nvmlInit_v2 returned 9")
    #expect(!NVMLSource(library: fake).availability().isAvailable)
  }

  @Test func absentLibraryIsUnavailableHere() {
    // This machine has no NVIDIA driver: the real loader must report, not crash.
    let source = NVMLSource()
    if source.library == nil {
      guard case .unavailable(let reason) = source.availability() else {
        Issue.record("expected unavailable")
        return
      }
      #expect(reason.contains("libnvidia-ml.so.1"))
    }
  }
}

@Suite struct ProbeTests {
  @Test func fallsBackToLabelledEstimateWhenNothingIsReadable() throws {
    let probe = EnergyProbe(
      cpuMeters: [CounterMeter(RAPLSource(root: "/nonexistent")), PerfMeter(searchPath: "/nonexistent")],
      gpuMeters: [])
    let session = try EnergySession(probe: probe)
    var x = 0.0
    for i in 0..<2_000_000 { x += Double(i).squareRoot() }
    #expect(x > 0)
    let figures = try session.stop()
    let cpu = try #require(figures.first)
    #expect(cpu.provenance == .estimated)
    #expect(cpu.joules > 0, "never a silent zero")
    #expect(cpu.low < cpu.high)
    #expect(cpu.notes.contains { $0.contains("proportional to CPU time") })
    #expect(cpu.notes.contains { $0.hasPrefix("not used: RAPL") })
  }

  @Test func prefersAReadableCounterInOrder() throws {
    let fs = try FakeSysfs()
    try fs.zone("0", name: "package-0", energy: 5)
    let probe = EnergyProbe(cpuMeters: [CounterMeter(RAPLSource(root: fs.root))], gpuMeters: [])
    #expect(probe.choose().cpu.name == "RAPL")
  }

  @Test func estimateScalesWithCPUTime() {
    let estimator = CPUTimeEstimator(wattsPerThreadLow: 2, wattsPerThreadHigh: 10, ramWattsPerGB: 0)
    let figure = estimator.figure(cpuSeconds: 3, wallSeconds: 2, residentGB: 1)
    #expect(figure.low == 6)
    #expect(figure.high == 30)
    #expect(figure.joules == 18)
  }
}
