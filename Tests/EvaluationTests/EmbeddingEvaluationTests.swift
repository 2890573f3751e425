import Foundation
import Testing

@testable import Evaluation

/// The linear probe (loss, gradient, convergence) and the fidelity figures.
@Suite struct EmbeddingEvaluationTests {
  /// Three Gaussian blobs in 5 dimensions, seeded.
  static func blobs(_ n: Int) -> (x: [Float], y: [Int]) {
    var state: UInt64 = 12345
    func uniform() -> Double {
      state = state &* 6364136223846793005 &+ 1442695040888963407
      return Double(state >> 11) / Double(1 << 53)
    }
    var x: [Float] = []
    var y: [Int] = []
    for i in 0..<n {
      let c = i % 3
      for j in 0..<5 { x.append(Float((j == c ? 1.5 : 0) + (uniform() - 0.5) * 2)) }
      y.append(c)
    }
    return (x, y)
  }

  @Test func gradientMatchesFiniteDifferences() {
    let (x, y) = Self.blobs(30)
    let theta = (0..<18).map { Double($0 % 5) * 0.1 - 0.2 }
    let (_, g) = LogisticProbe.lossAndGradient(theta, x: x.map(Double.init), labels: y, features: 5, classes: 3, c: 0.7)
    for i in theta.indices {
      var plus = theta
      var minus = theta
      plus[i] += 1e-6
      minus[i] -= 1e-6
      let fp = LogisticProbe.lossAndGradient(plus, x: x.map(Double.init), labels: y, features: 5, classes: 3, c: 0.7).0
      let fm = LogisticProbe.lossAndGradient(minus, x: x.map(Double.init), labels: y, features: 5, classes: 3, c: 0.7).0
      #expect(abs((fp - fm) / 2e-6 - g[i]) < 1e-6, "component \(i)")
    }
  }

  @Test func probeConvergesAndSeparatesTheBlobs() throws {
    let (x, y) = Self.blobs(300)
    let probe = try LogisticProbe(x: x, labels: y, features: 5, classes: 3)
    #expect(probe.gradientNorm < 1e-6, "max |∂L| = \(probe.gradientNorm)")
    let accuracy = Double(zip(probe.predict(x), y).filter { $0 == $1 }.count) / 300
    #expect(accuracy > 0.8)
    // The intercept is not penalised: the optimum's bias gradient (mean residual per class) is zero,
    // i.e. the predicted class probabilities sum to the class counts.
    #expect(probe.bias.allSatisfy { $0.isFinite })
    #expect(throws: EvaluationError.self) { try LogisticProbe(x: x, labels: y.map { $0 + 1 }, features: 5, classes: 3) }
    #expect(throws: EvaluationError.self) { try LogisticProbe(x: [.nan] + x.dropFirst(), labels: y, features: 5, classes: 3) }
  }

  @Test func fidelityIsMeanAndMinimumCosine() throws {
    let a: [Float] = [1, 0, 0, 1, 1, 1]
    let b: [Float] = [1, 0, 1, 0, 2, 2]
    let f = try EmbeddingFidelity(a, b, hidden: 2)
    #expect(f.count == 3 && abs(f.min - 0) < 1e-12 && abs(f.mean - 2.0 / 3) < 1e-12)
    #expect(throws: EvaluationError.self) { try EmbeddingFidelity(a, Array(b.prefix(4)), hidden: 2) }
  }
}
