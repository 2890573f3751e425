import Foundation
import TensorCore

/// Expected calibration error (Guo et al. 2017): predictions binned by confidence (max softmax
/// probability) into `bins` equal-width bins; ECE = Σ_b (n_b / N) · |accuracy_b − confidence_b|.
public func expectedCalibrationError(logits: Tensor, labels: [Int], bins: Int = 15) throws -> Double {
  guard logits.rank == 2, logits.shape[0] == labels.count else {
    throw EvaluationError.shape(what: "logits", expected: "[\(labels.count), C]", found: "\(logits.shape)")
  }
  guard bins > 0 else { throw EvaluationError.invalidArgument("bins must be positive, got \(bins)") }
  let (n, c) = (logits.shape[0], logits.shape[1])
  let values = logits.asFloats()
  var count = [Int](repeating: 0, count: bins)
  var hits = [Double](repeating: 0, count: bins)
  var confidence = [Double](repeating: 0, count: bins)
  for row in 0..<n {
    let slice = values[(row * c)..<(row * c + c)]
    let top = Double(slice.max()!)
    let sum = slice.reduce(0.0) { $0 + exp(Double($1) - top) }
    let predicted = slice.firstIndex(of: slice.max()!)! - row * c
    let p = 1 / sum  // softmax of the top logit
    let bin = min(bins - 1, Int(p * Double(bins)))
    count[bin] += 1
    confidence[bin] += p
    if predicted == labels[row] { hits[bin] += 1 }
  }
  guard n > 0 else { return 0 }
  var ece = 0.0
  for b in 0..<bins where count[b] > 0 {
    ece += Double(count[b]) / Double(n) * abs(hits[b] / Double(count[b]) - confidence[b] / Double(count[b]))
  }
  return ece
}
