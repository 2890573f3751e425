import ModelGraph
import Runtime
import TensorCore

/// Sentence embeddings of a BERT-style encoder: texts tokenized with PruneKit's WordPiece, run by the
/// Runtime executor in batches of similar length (padding does not change a mean-pooled embedding),
/// mean-pooled over the attention mask and L2-normalised (sentence-transformers).
public struct SentenceEmbedder {
  public let executor: Executor
  public let tokenizer: WordPieceTokenizer
  public var maxLength: Int
  /// Padded tokens per batch (the batch size adapts to the texts' lengths).
  public var tokensPerBatch = 4096
  let outputName: String

  public init(graph: Graph, tokenizer: WordPieceTokenizer, maxLength: Int = 256) throws {
    executor = try Executor(graph: graph)
    self.tokenizer = tokenizer
    self.maxLength = maxLength
    guard let out = graph.outputs.first(where: { $0.name == "last_hidden_state" }) ?? graph.outputs.first else {
      throw EvaluationError.invalidArgument("model '\(graph.name)' has no outputs")
    }
    outputName = out.name
    let known = Set(["input_ids", "attention_mask", "token_type_ids"])
    if let other = executor.requiredInputs.first(where: { !known.contains($0.name) }) {
      throw EvaluationError.invalidArgument(
        "model input '\(other.name)' is not one a BERT tokenizer gives (input_ids, attention_mask, token_type_ids)")
    }
  }

  /// [texts.count, hidden] row-major embeddings, and `hidden`. `progress(done, total)` per batch.
  public func embed(_ texts: [String], progress: ((Int, Int) -> Void)? = nil) throws -> (values: [Float], hidden: Int) {
    let lengths = texts.map { min(tokenizer.tokenIds($0).count + 2, maxLength) }
    let order = texts.indices.sorted { lengths[$0] != lengths[$1] ? lengths[$0] < lengths[$1] : $0 < $1 }
    var result: [Float] = []
    var hidden = 0
    var start = 0
    let required = Set(executor.requiredInputs.map(\.name))
    while start < order.count {
      var end = start + 1
      while end < order.count && (end - start + 1) * lengths[order[end]] <= tokensPerBatch { end += 1 }
      let batch = Array(order[start..<end])
      let encoding = tokenizer.encode(batch.map { texts[$0] }, maxLength: maxLength)
      let outputs = try executor.run(encoding.graphInputs.filter { required.contains($0.key) })
      guard let states = outputs[outputName], states.rank == 3 else {
        throw EvaluationError.shape(
          what: "model output '\(outputName)'", expected: "[batch, sequence, hidden]",
          found: "\(outputs[outputName]?.shape ?? [])")
      }
      let e = try meanPooledEmbeddings(lastHiddenState: states, attentionMask: encoding.attentionMask)
      if hidden == 0 {
        hidden = e.shape[1]
        result = [Float](repeating: 0, count: texts.count * hidden)
      }
      let values = e.floats
      for (row, index) in batch.enumerated() {
        for j in 0..<hidden { result[index * hidden + j] = values[row * hidden + j] }
      }
      start = end
      progress?(start, order.count)
    }
    return (result, hidden)
  }
}

/// Cosine similarity of two models' embeddings of the same texts: mean and minimum.
public struct EmbeddingFidelity: Codable, Sendable, Equatable {
  public var mean: Double
  public var min: Double
  public var count: Int

  /// a, b: [n, hidden] row-major.
  public init(_ a: [Float], _ b: [Float], hidden: Int) throws {
    guard a.count == b.count, hidden > 0, a.count % hidden == 0, !a.isEmpty else {
      throw EvaluationError.lengthMismatch(what: "embeddings to compare", expected: a.count, found: b.count)
    }
    count = a.count / hidden
    var sum = 0.0
    var lowest = Double.infinity
    for i in 0..<count {
      let c = cosineSimilarity(a[(i * hidden)..<((i + 1) * hidden)], b[(i * hidden)..<((i + 1) * hidden)])
      sum += c
      lowest = Swift.min(lowest, c)
    }
    mean = sum / Double(count)
    min = lowest
  }
}
