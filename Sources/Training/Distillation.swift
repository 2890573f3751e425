import Foundation
import ModelGraph
import TensorCore

#if canImport(Glibc)
  import Glibc
#endif

/// Knowledge-distillation losses (Hinton et al. 2015; Sanh et al. 2019 for hidden states). Each
/// returns the loss and dLoss/dStudent, shaped like the student's value; the teacher is a constant.
/// `rowWeights` (one per row of the last axis, e.g. a text's attention mask flattened) excludes
/// padded rows: the mean runs over the weighted rows only.
extension Loss {
  /// Mean squared error over the elements of the weighted rows: L = Σ w_r Σ_d (s − t)² / (D·Σ w_r).
  public static func meanSquaredError(student: Tensor, teacher: Tensor, rowWeights: [Float]? = nil) throws -> (
    loss: Float, gradient: Tensor
  ) {
    let (rows, d, w) = try rowLayout(student, teacher, rowWeights, "mse")
    let s = student.floats, t = teacher.floats
    let denominator = Float(d) * w.reduce(0, +)
    var grad = [Float](repeating: 0, count: s.count)
    var total = 0.0
    guard denominator > 0 else { return (0, Tensor(shape: student.shape, floats: grad)) }
    for r in 0..<rows where w[r] != 0 {
      for j in (r * d)..<((r + 1) * d) {
        let e = s[j] - t[j]
        total += Double(w[r] * e * e)
        grad[j] = 2 * w[r] * e / denominator
      }
    }
    return (Float(total / Double(denominator)), Tensor(shape: student.shape, floats: grad))
  }

  /// Cosine distance per row of the last axis: L = Σ w_r (1 − cos(s_r, t_r)) / Σ w_r;
  /// d(1 − cos)/ds = −(t/(|s||t|) − cos·s/|s|²).
  public static func cosineDistance(student: Tensor, teacher: Tensor, rowWeights: [Float]? = nil) throws -> (
    loss: Float, gradient: Tensor
  ) {
    let (rows, d, w) = try rowLayout(student, teacher, rowWeights, "cosine")
    let s = student.floats, t = teacher.floats
    let total = w.reduce(0, +)
    var grad = [Float](repeating: 0, count: s.count)
    var loss = 0.0
    guard total > 0 else { return (0, Tensor(shape: student.shape, floats: grad)) }
    for r in 0..<rows where w[r] != 0 {
      var ss: Float = 0, tt: Float = 0, st: Float = 0
      for j in (r * d)..<((r + 1) * d) {
        ss += s[j] * s[j]
        tt += t[j] * t[j]
        st += s[j] * t[j]
      }
      let (ns, nt) = (Swift.max(ss.squareRoot(), 1e-12), Swift.max(tt.squareRoot(), 1e-12))
      let cos = st / (ns * nt)
      loss += Double(w[r] * (1 - cos))
      let k = w[r] / total
      for j in (r * d)..<((r + 1) * d) { grad[j] = -k * (t[j] / (ns * nt) - cos * s[j] / (ns * ns)) }
    }
    return (Float(loss / Double(total)), Tensor(shape: student.shape, floats: grad))
  }

  /// Sentence-embedding cosine distance (sentence-transformers mean pooling): hidden states
  /// [N, T, D] averaged over the tokens whose `mask` [N, T] is 1, then 1 − cos with the teacher's
  /// pooled embedding, averaged over the N texts. The gradient flows back through the pooling.
  public static func pooledCosineDistance(student: Tensor, teacher: Tensor, mask: [Float]) throws -> (
    loss: Float, gradient: Tensor
  ) {
    guard student.rank == 3, student.shape == teacher.shape, mask.count == student.shape[0] * student.shape[1] else {
      throw TrainingError.invalidArgument(
        what: "pooled cosine distillation",
        message: "expected hidden states [N, T, D] of equal shape and a mask [N, T]; found \(student.shape), "
          + "\(teacher.shape), mask of \(mask.count)")
    }
    let (n, tokens, d) = (student.shape[0], student.shape[1], student.shape[2])
    func pool(_ x: [Float]) -> [Float] {
      var out = [Float](repeating: 0, count: n * d)
      for i in 0..<n {
        let count = Swift.max((0..<tokens).reduce(Float(0)) { $0 + mask[i * tokens + $1] }, 1)
        for k in 0..<tokens where mask[i * tokens + k] != 0 {
          for j in 0..<d { out[i * d + j] += x[(i * tokens + k) * d + j] * mask[i * tokens + k] / count }
        }
      }
      return out
    }
    let ps = Tensor(shape: [n, d], floats: pool(student.floats)), pt = Tensor(shape: [n, d], floats: pool(teacher.floats))
    let (loss, pooledGrad) = try cosineDistance(student: ps, teacher: pt)
    let g = pooledGrad.floats
    var grad = [Float](repeating: 0, count: student.count)
    for i in 0..<n {
      let count = Swift.max((0..<tokens).reduce(Float(0)) { $0 + mask[i * tokens + $1] }, 1)
      for k in 0..<tokens where mask[i * tokens + k] != 0 {
        for j in 0..<d { grad[(i * tokens + k) * d + j] = g[i * d + j] * mask[i * tokens + k] / count }
      }
    }
    return (loss, Tensor(shape: student.shape, floats: grad))
  }

  /// KL(softmax(t/T) ‖ softmax(s/T))·T² per row of logits, averaged over rows (Hinton et al. 2015,
  /// the T² keeps gradient magnitudes comparable across temperatures): dL/ds = T·(softmax(s/T) − softmax(t/T)) / rows.
  public static func klDivergence(student: Tensor, teacher: Tensor, temperature: Float) throws -> (
    loss: Float, gradient: Tensor
  ) {
    guard temperature > 0, temperature.isFinite else {
      throw TrainingError.invalidArgument(what: "distillation temperature", message: "\(temperature) must be positive")
    }
    let (rows, k, _) = try rowLayout(student, teacher, nil, "kl")
    let s = student.floats, t = teacher.floats
    var grad = [Float](repeating: 0, count: s.count)
    var total = 0.0
    func logSoftmax(_ x: [Float], _ o: Int) -> [Float] {
      var m = -Float.infinity
      for j in 0..<k { m = Swift.max(m, x[o + j] / temperature) }
      var sum: Float = 0
      for j in 0..<k { sum += expf(x[o + j] / temperature - m) }
      let l = m + logf(sum)
      return (0..<k).map { x[o + $0] / temperature - l }
    }
    for r in 0..<rows {
      let ls = logSoftmax(s, r * k), lt = logSoftmax(t, r * k)
      for j in 0..<k {
        let pt = expf(lt[j])
        total += Double(pt * (lt[j] - ls[j]))
        grad[r * k + j] = temperature * (expf(ls[j]) - pt) / Float(rows)
      }
    }
    return (Float(total / Double(rows)) * temperature * temperature, Tensor(shape: student.shape, floats: grad))
  }

  /// Rows of the last axis and their weights; the shapes must match.
  static func rowLayout(_ s: Tensor, _ t: Tensor, _ weights: [Float]?, _ what: String) throws -> (Int, Int, [Float]) {
    guard s.shape == t.shape, s.rank >= 1, s.dtype == .float32, t.dtype == .float32 else {
      throw TrainingError.invalidArgument(
        what: "\(what) distillation", message: "student output \(s.shape) and teacher output \(t.shape) must have the same shape")
    }
    let d = s.shape[s.rank - 1], rows = d == 0 ? 0 : s.count / d
    let w = weights ?? [Float](repeating: 1, count: rows)
    guard w.count == rows else {
      throw TrainingError.invalidArgument(what: "\(what) distillation", message: "\(w.count) row weights for \(rows) rows")
    }
    return (rows, d, w)
  }
}

/// The hidden states a layer-wise distillation matches (TinyBERT, Jiao et al. 2020; the layer
/// losses of oBERT's and movement pruning's recovery runs): values of the student graph read under
/// the same name from the teacher, which must share the student's architecture.
public enum DistillationLayers {
  /// The residual-stream states of a transformer: the output of every LayerNormalization node in
  /// graph order (for BERT: the embeddings, then each layer's attention output and layer output; the
  /// last is the model's output).
  public static func normalizationOutputs(of graph: Graph) -> [String] {
    graph.nodes.filter { $0.opType == "LayerNormalization" }.compactMap(\.outputs.first).filter { !$0.isEmpty }
  }

  /// Resolves a `--distill-layers` list: `all` (every normalisation output), or comma-separated
  /// entries that are 0-based indices into those outputs (negative counts from the end) or value
  /// names of the graph. Throws naming the entry that is neither.
  public static func resolve(_ spec: String, in graph: Graph) throws -> [String] {
    let states = normalizationOutputs(of: graph)
    let entries = spec.split(separator: ",", omittingEmptySubsequences: false).map {
      $0.trimmingCharacters(in: .whitespacesAndNewlines)
    }
    guard !entries.isEmpty, !entries.contains(where: \.isEmpty) else {
      throw TrainingError.invalidArgument(what: "distilled layers '\(spec)'", message: "expected all, or indices/value names separated by commas")
    }
    var names: [String] = []
    for entry in entries {
      if entry == "all" {
        guard !states.isEmpty else {
          throw TrainingError.invalidArgument(
            what: "distilled layers 'all'",
            message: "model '\(graph.name)' has no LayerNormalization node; name the hidden states instead")
        }
        names += states
      } else if let i = Int(entry) {
        let index = i < 0 ? states.count + i : i
        guard states.indices.contains(index) else {
          throw TrainingError.invalidArgument(
            what: "distilled layer \(entry)",
            message: "model '\(graph.name)' has \(states.count) LayerNormalization outputs (indices 0..\(states.count - 1))")
        }
        names.append(states[index])
      } else {
        guard graph.producer(of: entry) != nil else {
          throw TrainingError.invalidArgument(
            what: "distilled layer '\(entry)'", message: "is not a value computed by model '\(graph.name)'")
        }
        names.append(entry)
      }
    }
    var seen = Set<String>()
    return names.filter { seen.insert($0).inserted }
  }
}
