import TensorCore

/// Sentence embeddings as sentence-transformers computes them for models such as all-MiniLM-L6-v2:
/// mean pooling of the token vectors over the attention mask (`Pooling`, pooling_mode_mean_tokens),
/// then L2 normalisation (`Normalize`).
///
/// - Parameters:
///   - lastHiddenState: [batch, sequence, hidden] Float32.
///   - attentionMask: [batch, sequence], 1 = real token, 0 = padding (any dtype).
///   - normalize: divide each embedding by max(‖e‖₂, 1e-12) (torch `F.normalize`).
/// - Returns: [batch, hidden] Float32.
public func meanPooledEmbeddings(
  lastHiddenState: Tensor, attentionMask: Tensor, normalize: Bool = true
) throws -> Tensor {
  guard lastHiddenState.rank == 3, attentionMask.rank == 2,
    Array(lastHiddenState.shape.prefix(2)) == attentionMask.shape
  else {
    throw ModelGraphError.shapeMismatch(
      node: "meanPooledEmbeddings", expected: "[batch, sequence, hidden] and [batch, sequence]",
      found: "\(lastHiddenState.shape) and \(attentionMask.shape)")
  }
  let (batch, sequence, hidden) = (
    lastHiddenState.shape[0], lastHiddenState.shape[1], lastHiddenState.shape[2]
  )
  let states = lastHiddenState.asFloats()
  let mask = attentionMask.asFloats()
  var out = [Float](repeating: 0, count: batch * hidden)
  for b in 0..<batch {
    var sum = [Double](repeating: 0, count: hidden)
    var weight = 0.0
    for s in 0..<sequence where mask[b * sequence + s] != 0 {
      let m = Double(mask[b * sequence + s])
      weight += m
      let row = (b * sequence + s) * hidden
      for j in 0..<hidden { sum[j] += m * Double(states[row + j]) }
    }
    // sentence-transformers clamps the token count at 1e-9 (an all-padding row gives zeros).
    let mean = sum.map { $0 / max(weight, 1e-9) }
    let norm = normalize ? max(mean.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12) : 1
    for j in 0..<hidden { out[b * hidden + j] = Float(mean[j] / norm) }
  }
  return Tensor(shape: [batch, hidden], floats: out)
}

/// Cosine similarity of two equal-length vectors (Double accumulation); 0 if either is zero.
public func cosineSimilarity(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Double {
  precondition(a.count == b.count, "cosineSimilarity: lengths \(a.count) and \(b.count) differ")
  var (dot, na, nb) = (0.0, 0.0, 0.0)
  for (x, y) in zip(a, b) {
    dot += Double(x) * Double(y)
    na += Double(x) * Double(x)
    nb += Double(y) * Double(y)
  }
  return na == 0 || nb == 0 ? 0 : dot / (na.squareRoot() * nb.squareRoot())
}
