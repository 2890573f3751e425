import TensorCore

/// Accuracy beyond one number: confusion matrix, per-class precision/recall/F1 and the gap between
/// the best and the worst class (aggressive pruning tends to hurt under-represented classes first:
/// Hooker et al., "What Do Compressed Deep Neural Networks Forget?", 2019).
public struct ClassificationMetrics: Codable, Sendable, Equatable {
  public var classCount: Int
  public var sampleCount: Int
  /// confusion[truth][predicted]
  public var confusion: [[Int]]

  public init(predictions: [Int], labels: [Int], classCount: Int) throws {
    guard predictions.count == labels.count else {
      throw EvaluationError.lengthMismatch(
        what: "predictions vs labels", expected: labels.count, found: predictions.count)
    }
    var confusion = [[Int]](repeating: [Int](repeating: 0, count: classCount), count: classCount)
    for (index, (p, t)) in zip(predictions, labels).enumerated() {
      guard (0..<classCount).contains(p), (0..<classCount).contains(t) else {
        throw EvaluationError.classOutOfRange(
          index: index, value: (0..<classCount).contains(p) ? t : p, classCount: classCount)
      }
      confusion[t][p] += 1
    }
    self.classCount = classCount
    self.sampleCount = labels.count
    self.confusion = confusion
  }

  public var correct: Int { (0..<classCount).reduce(0) { $0 + confusion[$1][$1] } }
  public var accuracy: Double { sampleCount == 0 ? 0 : Double(correct) / Double(sampleCount) }
  public var error: Double { 1 - accuracy }

  /// Samples whose truth is class c.
  public func support(_ c: Int) -> Int { confusion[c].reduce(0, +) }

  /// Recall of class c (its per-class accuracy); nil when the class has no samples.
  public func recall(_ c: Int) -> Double? {
    let n = support(c)
    return n == 0 ? nil : Double(confusion[c][c]) / Double(n)
  }

  /// Precision of class c; nil when nothing was predicted as c.
  public func precision(_ c: Int) -> Double? {
    let predicted = (0..<classCount).reduce(0) { $0 + confusion[$1][c] }
    return predicted == 0 ? nil : Double(confusion[c][c]) / Double(predicted)
  }

  public func f1(_ c: Int) -> Double? {
    guard let p = precision(c), let r = recall(c) else { return nil }
    return p + r == 0 ? 0 : 2 * p * r / (p + r)
  }

  /// Mean F1 over classes that have samples or predictions (undefined F1 counts as 0).
  public var macroF1: Double {
    let present = (0..<classCount).filter { support($0) > 0 }
    guard !present.isEmpty else { return 0 }
    return present.reduce(0) { $0 + (f1($1) ?? 0) } / Double(present.count)
  }

  /// The class with the lowest recall and that recall.
  public var worstClass: (label: Int, recall: Double)? {
    (0..<classCount).compactMap { c in recall(c).map { (c, $0) } }.min { $0.1 < $1.1 }
  }

  /// Best-class recall minus worst-class recall.
  public var recallGap: Double {
    let recalls = (0..<classCount).compactMap(recall)
    guard let lo = recalls.min(), let hi = recalls.max() else { return 0 }
    return hi - lo
  }
}

/// Row-wise argmax of logits [N, C].
public func predictions(fromLogits logits: Tensor) throws -> [Int] {
  guard logits.rank == 2 else {
    throw EvaluationError.shape(what: "logits", expected: "[N, C]", found: "\(logits.shape)")
  }
  let (n, c) = (logits.shape[0], logits.shape[1])
  let values = logits.asFloats()
  return (0..<n).map { row in
    var best = 0
    for j in 1..<c where values[row * c + j] > values[row * c + best] { best = j }
    return best
  }
}

/// Fraction of samples whose label is among the k highest logits (ties: lower index first).
public func topKAccuracy(logits: Tensor, labels: [Int], k: Int) throws -> Double {
  guard logits.rank == 2, logits.shape[0] == labels.count else {
    throw EvaluationError.shape(what: "logits", expected: "[\(labels.count), C]", found: "\(logits.shape)")
  }
  let (n, c) = (logits.shape[0], logits.shape[1])
  guard (1...c).contains(k) else {
    throw EvaluationError.invalidArgument("k must be in 1...\(c), got \(k)")
  }
  let values = logits.asFloats()
  var hits = 0
  for row in 0..<n {
    let target = values[row * c + labels[row]]
    // Rank of the label: classes strictly better, or equal with a lower index.
    var better = 0
    for j in 0..<c where values[row * c + j] > target || (values[row * c + j] == target && j < labels[row]) {
      better += 1
    }
    if better < k { hits += 1 }
  }
  return n == 0 ? 0 : Double(hits) / Double(n)
}
