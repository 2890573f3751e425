import Foundation
import Evaluation
import ModelGraph
import Runtime
import TensorCore
import Training

/// Where fine-tuning batches come from: labelled images (IDX folders; resized, channel-replicated and
/// normalised per batch for the model's input) or texts (tokenized per batch).
public enum FineTuneData: Sendable {
  case images(ModelImages)
  case texts([String], tokenizer: WordPieceTokenizer, maxLength: Int)

  public var count: Int {
    switch self {
    case .images(let d): return d.count
    case .texts(let t, _, _): return t.count
    }
  }

  /// The batch of examples `indices`, as graph inputs of `graph` (the first input for images;
  /// input_ids / attention_mask / token_type_ids by name for texts).
  public func batch(_ indices: [Int], for graph: Graph) -> FineTuneBatch {
    switch self {
    case .images(let data):
      let b = data.batch(indices)
      return FineTuneBatch(inputs: [graph.inputs[0].name: b.inputs], labels: b.labels)
    case .texts(let texts, let tokenizer, let maxLength):
      let encoding = tokenizer.encode(indices.map { texts[$0] }, maxLength: maxLength)
      let declared = Set(graph.inputs.map(\.name))
      return FineTuneBatch(inputs: encoding.graphInputs.filter { declared.contains($0.key) })
    }
  }

  /// Tokens per example (texts: after truncation, with [CLS]/[SEP]); nil for images (all one size).
  public func lengths() -> [Int]? {
    guard case .texts(let texts, let tokenizer, let maxLength) = self else { return nil }
    return texts.map { tokenizer.encodeOne($0, maxLength: maxLength).ids.count }
  }

  /// Refuses data that does not fit the model before anything trains: image size against the
  /// model's first input, the data's class count against the first output's declared width (a
  /// model for another class count needs a new head), text inputs against the graph's.
  public func check(against graph: Graph) throws {
    switch self {
    case .images(let data):
      guard let input = graph.inputs.first, let dims = input.shape, dims.count == 4 else {
        throw TrainingError.invalidArgument(
          what: "model '\(graph.name)'", message: "images need a first input [N, C, H, W]; found \(graph.inputs.first.map { "\($0.shape ?? [])" } ?? "none")")
      }
      let want = dims[1...].map(\.value)
      let have = [data.channels, data.height, data.width]
      guard zip(want, have).allSatisfy({ $0 == nil || $0 == $1 }) else {
        throw TrainingError.shapeMismatch(
          node: "model input '\(input.name)'", expected: "images \(dims[1...].map(\.description).joined(separator: "×"))",
          found: "data images \(have.map(String.init).joined(separator: "×"))")
      }
      // Too few logits for the labels, or more than the data set's classes (MNIST-format data sets
      // count at least 10): a model made for another task, which needs a new head.
      let needed = (data.source.labels.max() ?? 0) + 1
      if let dims = graph.outputs.first?.shape, dims.count == 2, let classes = dims[1].value,
        classes < needed || classes > data.classCount
      {
        throw TrainingError.shapeMismatch(
          node: "model output '\(graph.outputs[0].name)'",
          expected: "logits for the data's \(data.classCount) classes (replace the classifier with --new-head \(data.classCount))",
          found: "\(classes) classes")
      }
    case .texts:
      guard graph.inputs.contains(where: { $0.name == "input_ids" }) else {
        throw TrainingError.invalidArgument(
          what: "model '\(graph.name)'", message: "texts need an input named input_ids; inputs are \(graph.inputs.map(\.name))")
      }
    }
  }
}

/// Fine-tunes or distils a (pruned) model: AdamW, cosine learning-rate decay, masks held, optional
/// checkpoints every `checkpointEvery` steps from which an interrupted run resumes exactly (same
/// batches, same moments).
public struct FineTuneRecipe: Sendable {
  public var steps: Int
  public var batchSize: Int
  public var learningRate: Float
  public var weightDecay: Float
  public var seed: UInt64
  public var checkpointPath: String?
  public var checkpointEvery: Int
  /// Learning rate over the steps (cosine decay to 0 by default).
  public var schedule: LearningRateSchedule
  /// Steps of linear warm-up (rate·(s+1)/warmup) before `schedule` runs over the remaining steps.
  public var warmupSteps: Int
  /// Texts of similar length share a batch (padding only to the batch's longest): each epoch's
  /// permutation is cut into pools of `bucketSize` batches, each pool sorted by length and cut into
  /// batches, and the epoch's batches shuffled. 0 or 1: plain random batches.
  public var bucketSize: Int
  /// Seconds after which `run` checkpoints (to `checkpointPath`) and returns before `steps`, so a
  /// job with a wall-clock limit resumes later (nil: run to the end).
  public var timeLimit: Double?

  public init(
    steps: Int, batchSize: Int, learningRate: Float, weightDecay: Float = 0.01, seed: UInt64 = 1,
    checkpointPath: String? = nil, checkpointEvery: Int = 50, schedule: LearningRateSchedule = .cosine(minimumFactor: 0),
    warmupSteps: Int = 0, bucketSize: Int = 0, timeLimit: Double? = nil
  ) {
    self.timeLimit = timeLimit
    self.schedule = schedule
    self.warmupSteps = warmupSteps
    self.bucketSize = bucketSize
    self.steps = steps
    self.batchSize = batchSize
    self.learningRate = learningRate
    self.weightDecay = weightDecay
    self.seed = seed
    self.checkpointPath = checkpointPath
    self.checkpointEvery = checkpointEvery
  }

  /// Steps of `epochs` passes over `count` examples in batches of `batchSize`.
  public static func steps(epochs: Int, count: Int, batchSize: Int) -> Int {
    epochs * ((count + batchSize - 1) / Swift.max(batchSize, 1))
  }

  /// The example indices of step `step`: epoch e = step / stepsPerEpoch walks a permutation seeded
  /// by seed + e (so a resumed run sees the same batches).
  /// With `lengths` and `bucketSize` > 1 the epoch's batches are length-bucketed (same seeds, so
  /// a resumed run sees the same batches too).
  public func indices(step: Int, count: Int, lengths: [Int]? = nil) -> [Int] {
    let perEpoch = (count + batchSize - 1) / batchSize
    let (epoch, position) = (step / perEpoch, step % perEpoch)
    var order = Array(0..<count)
    seededShuffle(&order, seed: seed &+ UInt64(epoch))
    guard let lengths, bucketSize > 1 else {
      return Array(order[(position * batchSize)..<Swift.min(count, (position + 1) * batchSize)])
    }
    var batches: [[Int]] = []
    let pool = bucketSize * batchSize
    for start in stride(from: 0, to: count, by: pool) {
      let sorted = order[start..<Swift.min(count, start + pool)].sorted { (lengths[$0], $0) < (lengths[$1], $1) }
      for b in stride(from: 0, to: sorted.count, by: batchSize) {
        batches.append(Array(sorted[b..<Swift.min(sorted.count, b + batchSize)]))
      }
    }
    seededShuffle(&batches, seed: (seed &+ UInt64(epoch)) ^ 0x9E37_79B9_7F4A_7C15)
    return batches[position]
  }

  /// The learning rate of `step`: linear warm-up, then `schedule` over the steps after it.
  public func rate(step: Int) -> Float {
    if step < warmupSteps { return learningRate * Float(step + 1) / Float(warmupSteps) }
    return schedule.rate(base: learningRate, epoch: 0, step: step - warmupSteps, totalSteps: steps - warmupSteps)
  }

  /// Runs the remaining steps of `tuner` (from `tuner.step`), checkpointing as configured.
  public func run(
    _ tuner: FineTuner, data: FineTuneData, progress: (FineTuneStepReport) throws -> Void = { _ in }
  ) throws -> [FineTuneStepReport] {
    guard data.count > 0 else {
      throw TrainingError.invalidArgument(what: "training data", message: "no examples (an empty data set)")
    }
    try data.check(against: tuner.student.graph)
    var reports: [FineTuneStepReport] = []
    let lengths = bucketSize > 1 ? data.lengths() : nil
    func batch(_ step: Int) -> FineTuneBatch {
      data.batch(indices(step: step, count: data.count, lengths: lengths), for: tuner.student.graph)
    }
    if tuner.step == 0 { try tuner.check(batch(0)) }
    let start = Date()
    while tuner.step < steps {
      if let timeLimit, Date().timeIntervalSince(start) >= timeLimit, let path = checkpointPath {
        try tuner.checkpoint().write(to: path, metadata: ["seed": "\(seed)", "steps": "\(steps)"])
        break
      }
      let batch = batch(tuner.step)
      let rate = rate(step: tuner.step)
      let report = try tuner.step(batch, learningRate: rate, seed: seed)
      reports.append(report)
      try progress(report)
      if let path = checkpointPath, tuner.step % checkpointEvery == 0 || tuner.step == steps {
        try tuner.checkpoint().write(to: path, metadata: ["seed": "\(seed)", "steps": "\(steps)"])
      }
    }
    return reports
  }
}

/// Sentence-embedding fidelity of a student to its teacher on held-out texts (the one-shot
/// protocol's metric: mean-pooled, L2-normalised embeddings, cosine per text) — the curve a
/// distillation run reports every few steps, and what its settings are tuned on.
public struct EmbeddingValidation {
  public let texts: [String]
  let tokenizer: WordPieceTokenizer
  let maxLength: Int
  let reference: [Float]
  let hidden: Int

  /// Embeds `texts` once with the teacher.
  public init(teacher: Graph, texts: [String], tokenizer: WordPieceTokenizer, maxLength: Int) throws {
    guard !texts.isEmpty else {
      throw TrainingError.invalidArgument(what: "validation texts", message: "none (an empty row range?)")
    }
    self.texts = texts
    self.tokenizer = tokenizer
    self.maxLength = maxLength
    (reference, hidden) = try SentenceEmbedder(graph: teacher, tokenizer: tokenizer, maxLength: maxLength).embed(texts)
  }

  /// The student's fidelity (mean and minimum cosine) on the validation texts.
  public func fidelity(of student: Graph) throws -> EmbeddingFidelity {
    let (values, width) = try SentenceEmbedder(graph: student, tokenizer: tokenizer, maxLength: maxLength).embed(texts)
    return try EmbeddingFidelity(reference, values, hidden: width == 0 ? hidden : width)
  }
}
