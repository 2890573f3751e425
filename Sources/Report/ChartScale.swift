import Foundation

/// Where a value lands on a chart axis: linear (the default; a value twice as large is drawn twice
/// as far from zero) or log10 (said on the axis). Ticks are "nice" numbers: 1, 2 or 5 × 10ᵏ steps
/// (linear) or whole decades (log).
public struct AxisScale: Codable, Sendable, Equatable {
  public var lower: Double
  public var upper: Double
  public var log: Bool

  /// A scale covering `values`; a linear scale of bars includes 0 (`includeZero`) so that lengths are
  /// proportional to values. Non-finite values are ignored; log scales ignore values ≤ 0.
  public init(covering values: [Double], log: Bool = false, includeZero: Bool = false) {
    self.log = log
    var v = values.filter(\.isFinite)
    if log {
      v = v.filter { $0 > 0 }
      let lo = v.min() ?? 1
      let hi = v.max() ?? 10
      lower = Foundation.pow(10, Foundation.floor(Foundation.log10(lo)))
      upper = Foundation.pow(10, Foundation.ceil(Foundation.log10(hi)))
      if upper <= lower { upper = lower * 10 }
      return
    }
    if includeZero { v.append(0) }
    var lo = v.min() ?? 0
    var hi = v.max() ?? 1
    if hi == lo {
      let pad = lo == 0 ? 1 : abs(lo) * 0.1
      (lo, hi) = (lo - pad, hi + pad)
    }
    let step = Self.niceStep((hi - lo) / 5)
    lower = Foundation.floor(lo / step) * step
    upper = Foundation.ceil(hi / step) * step
    if includeZero { lower = Swift.min(lower, 0) }
  }

  public init(lower: Double, upper: Double, log: Bool = false) {
    precondition(upper > lower && (!log || lower > 0), "AxisScale: bad domain \(lower)...\(upper) (log \(log))")
    self.lower = lower
    self.upper = upper
    self.log = log
  }

  /// 1, 2 or 5 × 10ᵏ, the smallest such at least `rough`.
  static func niceStep(_ rough: Double) -> Double {
    guard rough > 0, rough.isFinite else { return 1 }
    let power = Foundation.pow(10, Foundation.floor(Foundation.log10(rough)))
    for m in [1.0, 2, 5, 10] where m * power >= rough * (1 - 1e-9) { return m * power }
    return 10 * power
  }

  /// 0 at `lower`, 1 at `upper`; clamped outside.
  public func fraction(_ value: Double) -> Double {
    let f: Double
    if log {
      guard value > 0 else { return 0 }
      f = (Foundation.log10(value) - Foundation.log10(lower)) / (Foundation.log10(upper) - Foundation.log10(lower))
    } else {
      f = (value - lower) / (upper - lower)
    }
    return Swift.min(1, Swift.max(0, f))
  }

  /// A tick's label: as many decimals as the tick step needs (0, 0.5, 1.0 → "0", "0.5", "1"), decades
  /// of a log axis as plain numbers while readable.
  public func tickLabel(_ t: Double) -> String {
    if log { return formatNumber(t) }
    let step = Self.niceStep((upper - lower) / 5)
    let decimals = max(0, -Int(Foundation.floor(Foundation.log10(step) + 1e-9)))
    if decimals > 6 || abs(t) >= 1e7 { return formatNumber(t) }
    return String(format: "%.\(decimals)f", t)
  }

  public var ticks: [Double] {
    if log {
      let (a, b) = (Int(Foundation.log10(lower).rounded()), Int(Foundation.log10(upper).rounded()))
      return (a...b).map { Foundation.pow(10, Double($0)) }
    }
    let step = Self.niceStep((upper - lower) / 5)
    var out: [Double] = []
    var t = lower
    while t <= upper + step * 1e-9 {
      out.append(abs(t) < step * 1e-9 ? 0 : t)
      t += step
    }
    return out
  }
}

/// Indices of the Pareto-optimal points when lower x and higher y are better (e.g. x = energy or
/// latency, y = accuracy): no other point has x ≤ and y ≥ with one strictly better. Sorted by x.
public func paretoFront(_ points: [(x: Double, y: Double)]) -> [Int] {
  let order = points.indices.filter { points[$0].x.isFinite && points[$0].y.isFinite }.sorted {
    points[$0].x != points[$1].x ? points[$0].x < points[$1].x : points[$0].y > points[$1].y
  }
  var front: [Int] = []
  var best = -Double.infinity
  for i in order where points[i].y > best {
    front.append(i)
    best = points[i].y
  }
  return front
}
