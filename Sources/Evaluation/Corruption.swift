import TensorCore

/// Input corruptions for robustness checks on images in [0, 1] (before normalisation), in the spirit
/// of MNIST-C / ImageNet-C (Hendrycks & Dietterich 2019). Every random corruption takes a seed.
public enum Corruption: Codable, Sendable, Equatable, CustomStringConvertible {
  /// Additive N(0, σ²) noise, clipped to [0, 1].
  case gaussianNoise(sigma: Float, seed: UInt64)
  /// Each pixel set to 0 or 1 with probability `amount` (half each).
  case saltAndPepper(amount: Float, seed: UInt64)
  /// x·factor, clipped (factor < 1 darkens).
  case contrast(factor: Float)
  /// x + delta, clipped.
  case brightness(delta: Float)
  /// Shift right/down by whole pixels (zero fill) on [N, C, H, W].
  case translate(dx: Int, dy: Int)

  public var description: String {
    switch self {
    case .gaussianNoise(let sigma, _): return "gaussian noise σ=\(sigma)"
    case .saltAndPepper(let amount, _): return "salt & pepper \(amount)"
    case .contrast(let factor): return "contrast ×\(factor)"
    case .brightness(let delta): return "brightness \(delta > 0 ? "+" : "")\(delta)"
    case .translate(let dx, let dy): return "translate (\(dx), \(dy)) px"
    }
  }

  /// Applies the corruption to a float tensor of images in [0, 1].
  public func apply(to images: Tensor) throws -> Tensor {
    var x = images.asFloats()
    func clip(_ v: Float) -> Float { min(1, max(0, v)) }
    switch self {
    case .gaussianNoise(let sigma, let seed):
      var rng = SeededGenerator(seed: seed)
      for i in x.indices { x[i] = clip(x[i] + sigma * rng.nextNormal()) }
    case .saltAndPepper(let amount, let seed):
      var rng = SeededGenerator(seed: seed)
      for i in x.indices {
        let u = rng.nextUniform()
        if u < amount / 2 { x[i] = 0 } else if u < amount { x[i] = 1 }
      }
    case .contrast(let factor):
      for i in x.indices { x[i] = clip(x[i] * factor) }
    case .brightness(let delta):
      for i in x.indices { x[i] = clip(x[i] + delta) }
    case .translate(let dx, let dy):
      guard images.rank == 4 else {
        throw EvaluationError.shape(
          what: "translate input", expected: "[N, C, H, W]", found: "\(images.shape)")
      }
      let (h, w) = (images.shape[2], images.shape[3])
      var out = [Float](repeating: 0, count: x.count)
      for plane in 0..<(images.shape[0] * images.shape[1]) {
        for row in 0..<h where (0..<h).contains(row - dy) {
          for col in 0..<w where (0..<w).contains(col - dx) {
            out[plane * h * w + row * w + col] = x[plane * h * w + (row - dy) * w + (col - dx)]
          }
        }
      }
      x = out
    }
    return Tensor(shape: images.shape, floats: x)
  }
}
