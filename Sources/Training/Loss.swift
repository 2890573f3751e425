import ModelGraph
import TensorCore

#if canImport(Glibc)
  import Glibc
#endif

/// Losses on the graph's output. Each returns the mean loss over the batch and dLoss/dOutput.
public enum Loss {
  /// Softmax cross-entropy (PyTorch `cross_entropy`, mean reduction):
  /// L = −1/N Σ_n log softmax(z_n)[y_n];  dL/dz_n = (softmax(z_n) − onehot(y_n)) / N.
  /// logits: [N, classes]. Also returns how many rows have their largest logit at the label.
  public static func softmaxCrossEntropy(logits: Tensor, labels: [Int]) throws -> (
    loss: Float, gradient: Tensor, correct: Int
  ) {
    guard logits.rank == 2, logits.shape[0] == labels.count else {
      throw TrainingError.invalidArgument(
        what: "softmaxCrossEntropy", message: "logits \(logits.shape) for \(labels.count) labels")
    }
    let (n, k) = (logits.shape[0], logits.shape[1])
    let z = logits.floats
    var grad = [Float](repeating: 0, count: n * k)
    var total: Double = 0
    var correct = 0
    for row in 0..<n {
      let label = labels[row]
      guard label >= 0 && label < k else {
        throw TrainingError.invalidArgument(
          what: "softmaxCrossEntropy", message: "label \(label) of row \(row) outside 0..<\(k)")
      }
      let o = row * k
      var mx = -Float.infinity, arg = 0
      for j in 0..<k where z[o + j] > mx {
        mx = z[o + j]
        arg = j
      }
      if arg == label { correct += 1 }
      var s: Float = 0
      for j in 0..<k {
        let e = expf(z[o + j] - mx)
        grad[o + j] = e
        s += e
      }
      total += Double(logf(s) + mx - z[o + label])
      for j in 0..<k { grad[o + j] = grad[o + j] / s / Float(n) }
      grad[o + label] -= 1 / Float(n)
    }
    return (Float(total / Double(n)), Tensor(shape: [n, k], floats: grad), correct)
  }
}
