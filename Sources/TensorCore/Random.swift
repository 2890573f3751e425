import RealModule

/// Seeded random numbers: every random choice in PruneKit takes one of these.
///
/// xoshiro256** (Blackman & Vigna 2018) seeded through SplitMix64.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
  private var state: (UInt64, UInt64, UInt64, UInt64)

  public init(seed: UInt64) {
    var s = seed
    func splitMix() -> UInt64 {
      s &+= 0x9E37_79B9_7F4A_7C15
      var z = s
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    state = (splitMix(), splitMix(), splitMix(), splitMix())
  }

  public mutating func next() -> UInt64 {
    let result = ((state.1 &* 5) << 7 | (state.1 &* 5) >> 57) &* 9
    let t = state.1 << 17
    state.2 ^= state.0
    state.3 ^= state.1
    state.1 ^= state.2
    state.0 ^= state.3
    state.2 ^= t
    state.3 = state.3 << 45 | state.3 >> 19
    return result
  }

  /// Uniform in [0, 1).
  public mutating func nextUniform() -> Float {
    Float(next() >> 40) * (1.0 / Float(1 << 24))
  }

  /// Standard normal (Box–Muller).
  public mutating func nextNormal() -> Float {
    let u1 = max(Double(next() >> 11) * (1.0 / Double(1 << 53)), 1e-300)
    let u2 = Double(next() >> 11) * (1.0 / Double(1 << 53))
    return Float((-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2))
  }
}

@inline(__always) private func _log(_ x: Double) -> Double { Double.log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Double.cos(x) }

extension Tensor {
  /// Uniform in [low, high).
  public static func uniform(_ shape: [Int], low: Float = 0, high: Float = 1, seed: UInt64) -> Tensor {
    var rng = SeededGenerator(seed: seed)
    let values = (0..<elementCount(shape)).map { _ in low + (high - low) * rng.nextUniform() }
    return Tensor(shape: shape, floats: values)
  }

  /// Normal(mean, std).
  public static func normal(_ shape: [Int], mean: Float = 0, std: Float = 1, seed: UInt64) -> Tensor {
    var rng = SeededGenerator(seed: seed)
    let values = (0..<elementCount(shape)).map { _ in mean + std * rng.nextNormal() }
    return Tensor(shape: shape, floats: values)
  }
}
