import Foundation

/// Wall-clock latency of repeated runs (monotonic clock), after warm-up runs.
public struct LatencyStats: Codable, Sendable, Equatable {
  /// Seconds per run, in the order measured.
  public var samples: [Double]

  public init(samples: [Double]) { self.samples = samples }

  /// Times `body` `runs` times after `warmup` untimed runs.
  public static func measure(warmup: Int = 2, runs: Int = 10, _ body: () throws -> Void) rethrows
    -> LatencyStats
  {
    precondition(runs > 0, "LatencyStats.measure: runs must be positive, got \(runs)")
    for _ in 0..<warmup { try body() }
    var samples: [Double] = []
    for _ in 0..<runs {
      let start = DispatchTime.now().uptimeNanoseconds
      try body()
      samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
    }
    return LatencyStats(samples: samples)
  }

  private var sorted: [Double] { samples.sorted() }
  public var min: Double { sorted.first ?? 0 }
  public var mean: Double { samples.isEmpty ? 0 : samples.reduce(0, +) / Double(samples.count) }
  public var median: Double { percentile(50) }

  /// Nearest-rank percentile (p in 0...100).
  public func percentile(_ p: Double) -> Double {
    guard !samples.isEmpty else { return 0 }
    let rank = Int((p / 100 * Double(samples.count)).rounded(.up))
    return sorted[Swift.max(0, Swift.min(samples.count - 1, rank - 1))]
  }
}
