import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The honest fallback when no counter is readable: energy proportional to the CPU time the
/// process used, times a power per busy hardware thread given as a low–high band, plus RAM power.
///
/// Default band, per busy hardware thread (a VM's vCPU): AMD EPYC 9005 TDP / threads, from
/// 500 W / 384 threads = 1.3 W (EPYC 9965) to 320 W / 32 threads = 10 W (EPYC 9175F); central value
/// is their mean. RAM: 0.375 W per GB of resident memory (CodeCarbon's 3 W per 8 GB).
public struct CPUTimeEstimator: EnergyMeter {
  public var wattsPerThreadLow: Double
  public var wattsPerThreadHigh: Double
  public var ramWattsPerGB: Double
  public var source: String

  public static let defaultBand = (low: 1.3, high: 10.0)

  public init(
    wattsPerThreadLow: Double = defaultBand.low, wattsPerThreadHigh: Double = defaultBand.high,
    ramWattsPerGB: Double = 0.375,
    source: String = "AMD EPYC 9005 TDP per thread (9965: 500 W/384, 9175F: 320 W/32); RAM 3 W per 8 GB"
  ) {
    self.wattsPerThreadLow = wattsPerThreadLow
    self.wattsPerThreadHigh = wattsPerThreadHigh
    self.ramWattsPerGB = ramWattsPerGB
    self.source = source
  }

  /// A band from a user-supplied TDP and hardware-thread count: TDP/threads as the high end,
  /// half of it as the low end (cores rarely draw full TDP).
  public init(tdpWatts: Double, threads: Int) {
    let perThread = tdpWatts / Double(max(threads, 1))
    self.init(
      wattsPerThreadLow: perThread / 2, wattsPerThreadHigh: perThread,
      source: "user TDP \(tdpWatts) W over \(threads) threads; RAM 3 W per 8 GB")
  }

  public var name: String { "CPU-time estimate" }

  public func availability() -> MeterAvailability { .available("getrusage CPU time") }

  public func begin(samplingInterval: Double?) throws -> any EnergyRegion {
    EstimateRegion(estimator: self)
  }

  /// The estimate for a given CPU time and resident memory over a wall time.
  public func figure(cpuSeconds: Double, wallSeconds: Double, residentGB: Double) -> EnergyFigure {
    let ram = ramWattsPerGB * residentGB * wallSeconds
    let low = cpuSeconds * wattsPerThreadLow + ram
    let high = cpuSeconds * wattsPerThreadHigh + ram
    return EnergyFigure(
      joules: (low + high) / 2, low: low, high: high, provenance: .estimated,
      method: "CPU time × power per busy hardware thread + RAM power × wall time",
      constants: [
        "cpu_time_s": String(format: "%.6f", cpuSeconds),
        "wall_time_s": String(format: "%.6f", wallSeconds),
        "watts_per_thread_low": "\(wattsPerThreadLow)",
        "watts_per_thread_high": "\(wattsPerThreadHigh)",
        "ram_watts_per_gb": "\(ramWattsPerGB)",
        "resident_gb": String(format: "%.4f", residentGB),
        "source": source,
      ],
      notes: [
        "No energy counter was readable: this estimate is proportional to CPU time, not measured."
      ],
      domains: ["cpu": cpuSeconds * (wattsPerThreadLow + wattsPerThreadHigh) / 2, "ram": ram])
  }

  static func cpuSeconds() -> (cpu: Double, residentGB: Double) {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) * 1e-6
    let system = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) * 1e-6
    return (user + system, Double(usage.ru_maxrss) / (1024 * 1024))  // ru_maxrss: KiB
  }
}

final class EstimateRegion: EnergyRegion {
  let estimator: CPUTimeEstimator
  let startCPU: Double
  let started = Date()

  init(estimator: CPUTimeEstimator) {
    self.estimator = estimator
    self.startCPU = CPUTimeEstimator.cpuSeconds().cpu
  }

  func end() throws -> EnergyFigure {
    let now = CPUTimeEstimator.cpuSeconds()
    return estimator.figure(
      cpuSeconds: now.cpu - startCPU, wallSeconds: Date().timeIntervalSince(started),
      residentGB: now.residentGB)
  }
}
