import Foundation
import TensorCore

/// A reliability diagram (Guo et al. 2017): predictions binned by confidence (max softmax
/// probability) into `bins` equal-width bins over [0, 1]; per bin the count, mean confidence and
/// accuracy; ECE = Σ_b (n_b / N) · |accuracy_b − confidence_b|.
public struct Reliability: Codable, Sendable, Equatable {
  public struct Bin: Codable, Sendable, Equatable {
    public var lower: Double
    public var upper: Double
    public var count: Int
    /// Means over the bin's predictions (0 for an empty bin).
    public var meanConfidence: Double
    public var accuracy: Double
  }

  public var bins: [Bin]
  public var sampleCount: Int

  /// logits: [N, C]; labels: N classes in 0..<C.
  public init(logits: Tensor, labels: [Int], bins binCount: Int = 15) throws {
    guard logits.rank == 2, logits.shape[0] == labels.count else {
      throw EvaluationError.shape(what: "logits", expected: "[\(labels.count), C]", found: "\(logits.shape)")
    }
    guard binCount > 0 else { throw EvaluationError.invalidArgument("bins must be positive, got \(binCount)") }
    let (n, c) = (logits.shape[0], logits.shape[1])
    let values = logits.asFloats()
    var count = [Int](repeating: 0, count: binCount)
    var hits = [Double](repeating: 0, count: binCount)
    var confidence = [Double](repeating: 0, count: binCount)
    for row in 0..<n {
      let slice = values[(row * c)..<(row * c + c)]
      let top = slice.max()!
      let sum = slice.reduce(0.0) { $0 + exp(Double($1) - Double(top)) }
      let predicted = slice.firstIndex(of: top)! - row * c
      let p = 1 / sum  // softmax of the top logit
      let bin = min(binCount - 1, Int(p * Double(binCount)))
      count[bin] += 1
      confidence[bin] += p
      if predicted == labels[row] { hits[bin] += 1 }
    }
    sampleCount = n
    bins = (0..<binCount).map { b in
      let k = Double(max(count[b], 1))
      return Bin(
        lower: Double(b) / Double(binCount), upper: Double(b + 1) / Double(binCount), count: count[b],
        meanConfidence: confidence[b] / k, accuracy: hits[b] / k)
    }
  }

  public var ece: Double {
    guard sampleCount > 0 else { return 0 }
    return bins.reduce(0) { $0 + Double($1.count) / Double(sampleCount) * abs($1.accuracy - $1.meanConfidence) }
  }
}

/// Expected calibration error of `logits` against `labels` over `bins` equal-width confidence bins.
public func expectedCalibrationError(logits: Tensor, labels: [Int], bins: Int = 15) throws -> Double {
  try Reliability(logits: logits, labels: labels, bins: bins).ece
}
