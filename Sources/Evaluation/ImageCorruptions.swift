import Foundation
import TensorCore

/// Named image corruptions at severities 1…5, in the spirit of MNIST-C (Mu & Gilmer 2019) and
/// ImageNet-C (Hendrycks & Dietterich 2019). Images are [N, C, H, W] with values in [0, 1] (before
/// normalisation); every random choice comes from the seed, so a (kind, severity, seed) triple always
/// gives the same images.
///
/// | kind | what severity s sets (s = 1…5) |
/// |---|---|
/// | gaussian-noise | σ of additive N(0, σ²) noise: 0.08, 0.12, 0.18, 0.26, 0.38 |
/// | shot-noise | photons per unit intensity λ: x' = Poisson(λ·x)/λ, λ = 60, 25, 12, 5, 3 |
/// | blur | σ of a Gaussian blur, pixels: 0.5, 0.75, 1.0, 1.5, 2.0 |
/// | contrast | factor c around each image's mean: 0.4, 0.3, 0.2, 0.1, 0.05 |
/// | dropout | fraction of pixels set to 0: 0.1, 0.2, 0.3, 0.45, 0.6 |
/// | rotate | degrees, sign drawn per image: 5, 10, 15, 20, 25 |
/// | shift | pixels, one of 8 directions drawn per image: 1, 2, 3, 4, 5 |
public enum ImageCorruptionKind: String, CaseIterable, Codable, Sendable {
  case gaussianNoise = "gaussian-noise"
  case shotNoise = "shot-noise"
  case blur
  case contrast
  case dropout
  case rotate
  case shift

  public static let severities = 1...5

  /// The parameter severity `s` sets (the table above).
  public func parameter(severity s: Int) -> Double {
    precondition(Self.severities.contains(s), "ImageCorruptionKind: severity \(s) outside 1...5")
    let table: [Double]
    switch self {
    case .gaussianNoise: table = [0.08, 0.12, 0.18, 0.26, 0.38]
    case .shotNoise: table = [60, 25, 12, 5, 3]
    case .blur: table = [0.5, 0.75, 1.0, 1.5, 2.0]
    case .contrast: table = [0.4, 0.3, 0.2, 0.1, 0.05]
    case .dropout: table = [0.1, 0.2, 0.3, 0.45, 0.6]
    case .rotate: table = [5, 10, 15, 20, 25]
    case .shift: table = [1, 2, 3, 4, 5]
    }
    return table[s - 1]
  }

  /// The corrupted images (same shape), clipped to [0, 1].
  public func apply(to images: Tensor, severity: Int, seed: UInt64) throws -> Tensor {
    guard images.rank == 4 else {
      throw EvaluationError.shape(what: "images to corrupt", expected: "[N, C, H, W]", found: "\(images.shape)")
    }
    guard Self.severities.contains(severity) else {
      throw EvaluationError.invalidArgument("corruption \(rawValue): severity \(severity) is outside 1...5")
    }
    let (n, c, h, w) = (images.shape[0], images.shape[1], images.shape[2], images.shape[3])
    let p = parameter(severity: severity)
    var x = images.asFloats()
    var rng = SeededGenerator(seed: seed)
    func clip(_ v: Float) -> Float { min(1, max(0, v)) }
    let plane = h * w
    switch self {
    case .gaussianNoise:
      for i in x.indices { x[i] = clip(x[i] + Float(p) * rng.nextNormal()) }
    case .shotNoise:
      for i in x.indices { x[i] = clip(Float(Self.poisson(Double(x[i]) * p, &rng)) / Float(p)) }
    case .blur:
      for k in 0..<(n * c) { Self.blur(&x, offset: k * plane, height: h, width: w, sigma: p) }
    case .contrast:
      for k in 0..<n {
        let range = (k * c * plane)..<((k + 1) * c * plane)
        let mean = x[range].reduce(0, +) / Float(range.count)
        for i in range { x[i] = clip((x[i] - mean) * Float(p) + mean) }
      }
    case .dropout:
      for i in x.indices where rng.nextUniform() < Float(p) { x[i] = 0 }
    case .rotate:
      for k in 0..<n {
        let degrees = rng.nextUniform() < 0.5 ? -p : p
        for ch in 0..<c { Self.rotate(&x, offset: (k * c + ch) * plane, height: h, width: w, degrees: degrees) }
      }
    case .shift:
      let directions = [(1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1)]
      for k in 0..<n {
        let (ux, uy) = directions[Int(UInt64(8).multipliedFullWidth(by: rng.next()).high)]
        let (dx, dy) = (ux * Int(p), uy * Int(p))
        for ch in 0..<c { Self.shift(&x, offset: (k * c + ch) * plane, height: h, width: w, dx: dx, dy: dy) }
      }
    }
    return Tensor(shape: images.shape, floats: x)
  }

  /// Poisson(λ): Knuth's product of uniforms for λ ≤ 30, else the normal approximation N(λ, λ).
  static func poisson(_ lambda: Double, _ rng: inout SeededGenerator) -> Double {
    if lambda <= 0 { return 0 }
    if lambda > 30 { return max(0, (lambda + lambda.squareRoot() * Double(rng.nextNormal())).rounded()) }
    let limit = exp(-lambda)
    var k = 0.0
    var product = Double(rng.nextUniform())
    while product > limit {
      k += 1
      product *= Double(rng.nextUniform())
    }
    return k
  }

  /// Separable Gaussian blur of one plane, radius ⌈3σ⌉, edges clamped.
  static func blur(_ x: inout [Float], offset: Int, height h: Int, width w: Int, sigma: Double) {
    let r = Int((3 * sigma).rounded(.up))
    var kernel = (-r...r).map { Float(exp(-Double($0 * $0) / (2 * sigma * sigma))) }
    let sum = kernel.reduce(0, +)
    kernel = kernel.map { $0 / sum }
    var tmp = [Float](repeating: 0, count: h * w)
    for row in 0..<h {
      for col in 0..<w {
        var s: Float = 0
        for d in -r...r { s += kernel[d + r] * x[offset + row * w + min(w - 1, max(0, col + d))] }
        tmp[row * w + col] = s
      }
    }
    for row in 0..<h {
      for col in 0..<w {
        var s: Float = 0
        for d in -r...r { s += kernel[d + r] * tmp[min(h - 1, max(0, row + d)) * w + col] }
        x[offset + row * w + col] = min(1, max(0, s))
      }
    }
  }

  /// Rotation about the plane's centre, bilinear, zero outside.
  static func rotate(_ x: inout [Float], offset: Int, height h: Int, width w: Int, degrees: Double) {
    let source = Array(x[offset..<(offset + h * w)])
    let (cy, cx) = (Double(h - 1) / 2, Double(w - 1) / 2)
    let (cosA, sinA) = (cos(degrees * .pi / 180), sin(degrees * .pi / 180))
    func at(_ r: Int, _ c: Int) -> Float { (0..<h).contains(r) && (0..<w).contains(c) ? source[r * w + c] : 0 }
    for row in 0..<h {
      for col in 0..<w {
        // Inverse map: where in the source does this output pixel come from.
        let (u, v) = (Double(col) - cx, Double(row) - cy)
        let sx = cosA * u + sinA * v + cx
        let sy = -sinA * u + cosA * v + cy
        let (x0, y0) = (Int(sx.rounded(.down)), Int(sy.rounded(.down)))
        let (fx, fy) = (Float(sx - Double(x0)), Float(sy - Double(y0)))
        let top = at(y0, x0) * (1 - fx) + at(y0, x0 + 1) * fx
        let bottom = at(y0 + 1, x0) * (1 - fx) + at(y0 + 1, x0 + 1) * fx
        x[offset + row * w + col] = min(1, max(0, top * (1 - fy) + bottom * fy))
      }
    }
  }

  /// Moves the plane by (dx, dy) pixels (right, down), zero fill.
  static func shift(_ x: inout [Float], offset: Int, height h: Int, width w: Int, dx: Int, dy: Int) {
    let source = Array(x[offset..<(offset + h * w)])
    for row in 0..<h {
      for col in 0..<w {
        let (r, c) = (row - dy, col - dx)
        x[offset + row * w + col] = (0..<h).contains(r) && (0..<w).contains(c) ? source[r * w + c] : 0
      }
    }
  }
}
