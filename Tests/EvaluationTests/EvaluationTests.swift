import Foundation
import TensorCore
import Testing

@testable import Evaluation

@Suite struct ClassificationMetricsTests {
  // truth:      0 0 0 0 1 1 2 2
  // predicted:  0 0 0 1 1 1 2 0
  let metrics = try! ClassificationMetrics(
    predictions: [0, 0, 0, 1, 1, 1, 2, 0], labels: [0, 0, 0, 0, 1, 1, 2, 2], classCount: 3)

  @Test func confusionAndAccuracyAreHandComputed() {
    #expect(metrics.confusion == [[3, 1, 0], [0, 2, 0], [1, 0, 1]])
    #expect(metrics.accuracy == 6.0 / 8)
    #expect(metrics.recall(0) == 0.75)
    #expect(metrics.recall(2) == 0.5)
    #expect(metrics.precision(0) == 0.75)
    #expect(metrics.precision(1) == 2.0 / 3)
    #expect(abs(metrics.f1(1)! - 0.8) < 1e-12)
    #expect(metrics.worstClass?.label == 2)
    #expect(metrics.recallGap == 0.5)
  }

  @Test func badInputIsRejected() {
    #expect(throws: EvaluationError.classOutOfRange(index: 1, value: 3, classCount: 3)) {
      try ClassificationMetrics(predictions: [0, 3], labels: [0, 1], classCount: 3)
    }
    #expect(throws: EvaluationError.self) {
      try ClassificationMetrics(predictions: [0], labels: [0, 1], classCount: 3)
    }
  }

  @Test func topKMatchesBruteForceOnRandomLogits() throws {
    let (n, c) = (200, 7)
    let logits = Tensor.normal([n, c], seed: 3)
    var rng = SeededGenerator(seed: 4)
    let labels = (0..<n).map { _ in Int(rng.next() % UInt64(c)) }
    let values = logits.floats
    for k in 1...c {
      var hits = 0
      for row in 0..<n {
        let order = (0..<c).sorted { values[row * c + $0] > values[row * c + $1] }
        if order.prefix(k).contains(labels[row]) { hits += 1 }
      }
      #expect(try topKAccuracy(logits: logits, labels: labels, k: k) == Double(hits) / Double(n))
    }
    #expect(
      try topKAccuracy(logits: logits, labels: labels, k: 1)
        == ClassificationMetrics(predictions: predictions(fromLogits: logits), labels: labels, classCount: c)
        .accuracy)
  }
}

@Suite struct AgreementAndDisparityTests {
  @Test func flipsAreCountedBothWays() throws {
    let a = try Agreement(dense: [0, 1, 2, 3], compressed: [0, 2, 1, 3], labels: [0, 1, 1, 0])
    #expect(a.agreeing == 2)
    #expect(a.flipped == [1, 2])
    #expect(a.lost == 1)  // sample 1: dense right, compressed wrong
    #expect(a.gained == 1)  // sample 2: dense wrong, compressed right
    #expect(a.agreementRate == 0.5)
  }

  @Test func groupGapAndRatio() throws {
    let d = try GroupDisparity(
      groups: ["a", "b", "a", "b", "b"], correct: [true, true, false, false, false])
    #expect(d.groups.map(\.name) == ["a", "b"])
    #expect(d.groups[0].accuracy == 0.5)
    #expect(abs(d.groups[1].accuracy - 1.0 / 3) < 1e-12)
    #expect(abs(d.gap - (0.5 - 1.0 / 3)) < 1e-12)
    #expect(abs(d.ratio - 2.0 / 3) < 1e-12)
  }
}

@Suite struct CalibrationAndRobustnessTests {
  @Test func perfectlyConfidentAndRightHasZeroError() throws {
    let logits = Tensor(shape: [2, 2], floats: [100, 0, 0, 100])
    #expect(try expectedCalibrationError(logits: logits, labels: [0, 1]) < 1e-9)
    // Confident and always wrong: ECE → 1.
    #expect(try expectedCalibrationError(logits: logits, labels: [1, 0]) > 0.999)
  }

  @Test func uniformLogitsGiveConfidenceOneOverC() throws {
    // 4 classes, all logits equal: confidence 0.25; half right → |0.5 − 0.25| = 0.25.
    let logits = Tensor.zeros([4, 4])
    #expect(abs(try expectedCalibrationError(logits: logits, labels: [0, 0, 1, 1]) - 0.25) < 1e-9)
  }

  @Test func corruptionsStayInRangeAndAreSeeded() throws {
    let images = Tensor.uniform([2, 1, 5, 5], seed: 9)
    let a = try Corruption.gaussianNoise(sigma: 0.5, seed: 1).apply(to: images)
    let b = try Corruption.gaussianNoise(sigma: 0.5, seed: 1).apply(to: images)
    let c = try Corruption.gaussianNoise(sigma: 0.5, seed: 2).apply(to: images)
    #expect(a == b)
    #expect(a != c)
    #expect(a.floats.allSatisfy { (0...1).contains($0) })
    #expect(try Corruption.contrast(factor: 1).apply(to: images) == images)
  }

  @Test func translateMovesPixels() throws {
    let image = Tensor(shape: [1, 1, 2, 3], floats: [1, 2, 3, 4, 5, 6])
    let moved = try Corruption.translate(dx: 1, dy: 1).apply(to: image)
    #expect(moved.floats == [0, 0, 0, 0, 1, 2])
    #expect(throws: EvaluationError.self) { try Corruption.translate(dx: 1, dy: 0).apply(to: .zeros([4])) }
  }

  @Test func latencyPercentilesAreNearestRank() {
    let stats = LatencyStats(samples: [5, 1, 4, 2, 3])
    #expect(stats.median == 3)
    #expect(stats.min == 1)
    #expect(stats.percentile(90) == 5)
    #expect(stats.mean == 3)
    var calls = 0
    let measured = LatencyStats.measure(warmup: 2, runs: 3) { calls += 1 }
    #expect(calls == 5)
    #expect(measured.samples.count == 3)
  }
}
