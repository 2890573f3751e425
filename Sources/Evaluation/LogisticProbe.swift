import Foundation

/// A linear probe: multinomial logistic regression on fixed features, trained to convergence by
/// L-BFGS (Nocedal & Wright 2006, Alg. 7.4/7.5) in Double.
///
/// Loss (scikit-learn's `LogisticRegression(C:)` with the lbfgs solver, divided by n):
///     L(W, b) = (1/n)·Σ_i −log softmax(W·x_i + b)[y_i]  +  ‖W‖² / (2·C·n)
/// The intercept b is not penalised. Converged when max |∂L| < `gradientTolerance`.
public struct LogisticProbe: Sendable {
  public let classes: Int
  public let features: Int
  /// [classes, features] row-major, then [classes] intercepts.
  public private(set) var weights: [Double]
  public private(set) var bias: [Double]
  /// Iterations L-BFGS took and the final gradient's largest component.
  public private(set) var iterations = 0
  public private(set) var gradientNorm = Double.infinity

  /// Trains on `x` ([n, features] row-major) with labels in 0..<classes.
  public init(
    x: [Float], labels: [Int], features: Int, classes: Int, c: Double = 1, gradientTolerance: Double = 1e-6,
    maxIterations: Int = 2000
  ) throws {
    let n = labels.count
    guard features > 0, classes >= 2, n > 0, x.count == n * features else {
      throw EvaluationError.shape(
        what: "probe training data", expected: "[\(n), \(features)] features and ≥ 2 classes",
        found: "\(x.count) values, \(classes) classes")
    }
    for (i, y) in labels.enumerated() where y < 0 || y >= classes {
      throw EvaluationError.classOutOfRange(index: i, value: y, classCount: classes)
    }
    guard c > 0, c.isFinite else { throw EvaluationError.invalidArgument("probe C must be positive, found \(c)") }
    guard x.allSatisfy(\.isFinite) else {
      throw EvaluationError.invalidArgument("probe features hold NaN or infinite values")
    }
    self.classes = classes
    self.features = features
    let xd = x.map(Double.init)
    let objective = { (theta: [Double]) -> (Double, [Double]) in
      Self.lossAndGradient(theta, x: xd, labels: labels, features: features, classes: classes, c: c)
    }
    let (theta, iterations, gnorm) = Self.lbfgs(
      start: [Double](repeating: 0, count: classes * (features + 1)), objective: objective,
      tolerance: gradientTolerance, maxIterations: maxIterations)
    weights = Array(theta[0..<(classes * features)])
    bias = Array(theta[(classes * features)...])
    self.iterations = iterations
    self.gradientNorm = gnorm
  }

  /// Class scores W·x + b for each row of `x` ([n, features]), argmax per row.
  public func predict(_ x: [Float]) -> [Int] {
    let n = x.count / features
    return (0..<n).map { i in
      var best = 0
      var bestScore = -Double.infinity
      for k in 0..<classes {
        var s = bias[k]
        for j in 0..<features { s += weights[k * features + j] * Double(x[i * features + j]) }
        if s > bestScore {
          bestScore = s
          best = k
        }
      }
      return best
    }
  }

  /// L and ∂L/∂θ for θ = (W row-major, b).
  static func lossAndGradient(
    _ theta: [Double], x: [Double], labels: [Int], features d: Int, classes k: Int, c: Double
  ) -> (Double, [Double]) {
    let n = labels.count
    var grad = [Double](repeating: 0, count: theta.count)
    var loss = 0.0
    var z = [Double](repeating: 0, count: k)
    for i in 0..<n {
      var top = -Double.infinity
      for a in 0..<k {
        var s = theta[k * d + a]
        for j in 0..<d { s += theta[a * d + j] * x[i * d + j] }
        z[a] = s
        top = max(top, s)
      }
      var sum = 0.0
      for a in 0..<k { sum += exp(z[a] - top) }
      loss += top + log(sum) - z[labels[i]]
      for a in 0..<k {
        let r = exp(z[a] - top) / sum - (a == labels[i] ? 1 : 0)
        for j in 0..<d { grad[a * d + j] += r * x[i * d + j] }
        grad[k * d + a] += r
      }
    }
    var penalty = 0.0
    for i in 0..<(k * d) { penalty += theta[i] * theta[i] }
    let scale = 1 / Double(n)
    for i in 0..<grad.count { grad[i] *= scale }
    for i in 0..<(k * d) { grad[i] += theta[i] / (c * Double(n)) }
    return (loss * scale + penalty / (2 * c * Double(n)), grad)
  }

  /// Minimises `objective` from `start`: L-BFGS with 10 correction pairs and a backtracking
  /// (Armijo) line search. Returns θ, iterations and the final max |gradient|.
  static func lbfgs(
    start: [Double], objective: ([Double]) -> (Double, [Double]), tolerance: Double, maxIterations: Int
  ) -> ([Double], Int, Double) {
    var theta = start
    var (f, g) = objective(theta)
    var s: [[Double]] = []
    var y: [[Double]] = []
    func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
    var iteration = 0
    while iteration < maxIterations {
      let gmax = g.map(abs).max() ?? 0
      if gmax < tolerance { return (theta, iteration, gmax) }
      // Two-loop recursion: direction = −H·g.
      var q = g
      var alphas = [Double](repeating: 0, count: s.count)
      for i in stride(from: s.count - 1, through: 0, by: -1) {
        alphas[i] = dot(s[i], q) / dot(y[i], s[i])
        for j in q.indices { q[j] -= alphas[i] * y[i][j] }
      }
      let gamma = s.isEmpty ? 1 / max(g.map { $0 * $0 }.reduce(0, +).squareRoot(), 1e-12) : dot(s.last!, y.last!) / dot(y.last!, y.last!)
      for j in q.indices { q[j] *= gamma }
      for i in 0..<s.count {
        let beta = dot(y[i], q) / dot(y[i], s[i])
        for j in q.indices { q[j] += s[i][j] * (alphas[i] - beta) }
      }
      var direction = q.map { -$0 }
      var slope = dot(g, direction)
      if slope >= 0 {  // not a descent direction: restart from steepest descent
        s.removeAll()
        y.removeAll()
        direction = g.map { -$0 }
        slope = dot(g, direction)
      }
      var step = 1.0
      var next = theta
      var (fNext, gNext) = (f, g)
      var accepted = false
      for _ in 0..<60 {
        for j in theta.indices { next[j] = theta[j] + step * direction[j] }
        (fNext, gNext) = objective(next)
        if fNext <= f + 1e-4 * step * slope {
          accepted = true
          break
        }
        step *= 0.5
      }
      iteration += 1
      guard accepted else { return (theta, iteration, g.map(abs).max() ?? 0) }
      let sk = zip(next, theta).map { $0 - $1 }
      let yk = zip(gNext, g).map { $0 - $1 }
      if dot(sk, yk) > 1e-12 {
        s.append(sk)
        y.append(yk)
        if s.count > 10 {
          s.removeFirst()
          y.removeFirst()
        }
      }
      let change = abs(f - fNext)
      theta = next
      f = fNext
      g = gNext
      if change <= 1e-15 * max(abs(f), 1) && (g.map(abs).max() ?? 0) < tolerance * 100 { break }
    }
    return (theta, iteration, g.map(abs).max() ?? 0)
  }
}
