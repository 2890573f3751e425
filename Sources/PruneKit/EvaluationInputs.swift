import Evaluation
import Foundation
import ModelGraph
import Runtime
import TensorCore
import Training

/// What an evaluation runs on: images (normalised, [N, C, H, W]) or texts, with labels and the name
/// of each class.
enum EvaluationInputs {
  case images(Tensor)
  case texts([String])

  var count: Int {
    switch self {
    case .images(let t): return t.shape[0]
    case .texts(let t): return t.count
    }
  }

  func prefix(_ n: Int) -> EvaluationInputs {
    switch self {
    case .images(let t):
      let k = min(n, t.shape[0])
      let size = t.count / max(t.shape[0], 1)
      return .images(Tensor(shape: [k] + Array(t.shape.dropFirst()), floats: Array(t.floats[0..<(k * size)])))
    case .texts(let t): return .texts(Array(t.prefix(n)))
    }
  }

  /// The corruption names this kind of input takes.
  var corruptionNames: [String] {
    switch self {
    case .images: return ImageCorruptionKind.allCases.map(\.rawValue)
    case .texts: return TextCorruptionKind.allCases.map(\.rawValue)
    }
  }

  /// The inputs corrupted by `name` at `severity`. Images are corrupted in [0, 1] pixel space:
  /// de-normalised with MNIST's mean and std, corrupted, normalised again.
  func corrupted(_ name: String, severity: Int, seed: UInt64) throws -> EvaluationInputs {
    switch self {
    case .images(let t):
      guard let kind = ImageCorruptionKind(rawValue: name) else {
        throw EvaluationError.invalidArgument(
          "corruption '\(name)' is not one for images; expected one of \(corruptionNames.joined(separator: ", "))")
      }
      let (mean, std) = (MNIST.mean, MNIST.std)
      let pixels = Tensor(shape: t.shape, floats: t.floats.map { $0 * std + mean })
      let out = try kind.apply(to: pixels, severity: severity, seed: seed)
      return .images(Tensor(shape: t.shape, floats: out.floats.map { ($0 - mean) / std }))
    case .texts(let t):
      guard let kind = TextCorruptionKind(rawValue: name) else {
        throw EvaluationError.invalidArgument(
          "corruption '\(name)' is not one for texts; expected one of \(corruptionNames.joined(separator: ", "))")
      }
      return .texts(try kind.apply(to: t, severity: severity, seed: seed))
    }
  }
}

/// A labelled evaluation set as read from `--data`.
struct EvaluationSet {
  var inputs: EvaluationInputs
  var labels: [Int]
  /// Class names by index ("0"…"9" for images, the label column's values for texts).
  var classNames: [String]
  /// For texts: the CSV row values of every column, for `--groups column:NAME`.
  var columns: [String: [String]] = [:]
  /// For an embedding model's probe: the training texts and labels.
  var probeTrain: (texts: [String], labels: [Int])?
  var source: String
  var split: String
}

extension EvaluationSet {
  /// An MNIST-format IDX folder: the test split, or the validation split (the last
  /// `validationFraction` of the training images, file order).
  static func images(
    folder: String, split: EvaluationOptions.Split, validationFraction: Double, classCount: Int?,
    imageSize: [Int]?, limit: Int?
  ) throws -> EvaluationSet {
    let data: ImageDataset
    let splitText: String
    switch split {
    case .test:
      data = try MNIST.load(directory: folder, split: .test, limit: limit, classCount: classCount, imageSize: imageSize)
      splitText = "test"
    case .validation:
      let train = try MNIST.load(directory: folder, split: .train, classCount: classCount, imageSize: imageSize)
      let validation = try train.validationSplit(fraction: validationFraction).validation
      data = limit.map { validation.prefix($0) } ?? validation
      splitText = "validation (last \(formatPercent(validationFraction)) of train, file order)"
    }
    let classes = classCount ?? data.classCount
    let batch = data.batch(0..<data.count)
    return EvaluationSet(
      inputs: .images(batch.inputs), labels: data.labels, classNames: (0..<classes).map(String.init),
      source: folder, split: splitText)
  }

  /// `FILE.csv:TEXT:LABEL[:ROWS]`: labels are integers 0..<classCount when every label is one,
  /// else class names, sorted. For an embedding model (`probeSample` set) the rows are the probe's
  /// pool: an evenly spaced sample, every third text to test (`ProbeData`), the rest to train.
  static func texts(
    spec: CSVColumnSpec, option: String, classCount: Int?, filter: RowFilter?, probeSample: Int??, limit: Int?
  ) throws -> EvaluationSet {
    let table = try CSVTable.read(path: spec.path)
    let (values, records) = try spec.read(option: option)
    var keep = Array(values[0].indices)
    if let filter {
      guard let column = try? table.column(filter.column) else {
        throw EvaluationError.invalidArgument(
          "--filter: \(spec.path) has no column '\(filter.column)'; columns are \(table.header.joined(separator: ", "))")
      }
      keep = keep.filter { filter.accepts(column[records[$0]]) }
    }
    if let limit, probeSample == nil { keep = Array(keep.prefix(limit)) }
    guard !keep.isEmpty else {
      throw EvaluationError.invalidArgument("\(spec.path): no rows left to evaluate after the row range and filter")
    }
    let texts = keep.map { values[0][$0] }
    let rawLabels = keep.map { values[1][$0].trimmingCharacters(in: .whitespaces) }
    var columns: [String: [String]] = [:]
    for name in table.header { columns[name] = (try? table.column(name)).map { c in keep.map { c[records[$0]] } } }
    let rowsText = spec.rows.map { $0.upperBound == Int.max ? "rows \($0.lowerBound).." : "rows \($0.lowerBound)..\($0.upperBound - 1)" } ?? "all rows"
    let source = "\(spec.path):\(spec.columns.joined(separator: ":"))"
    if let probeSample {
      let probe = try ProbeData(pool: Array(zip(texts, rawLabels)).map { (text: $0, label: $1) }, sample: probeSample)
      // Columns of the probe-test rows, for --groups column:NAME.
      let n = probeSample ?? texts.count
      let testRows = (0..<n).filter { $0 % 3 == 2 }.map { $0 * texts.count / n }
      return EvaluationSet(
        inputs: .texts(probe.testTexts), labels: probe.testLabels, classNames: probe.classes,
        columns: columns.mapValues { c in testRows.map { c[$0] } },
        probeTrain: (probe.trainTexts, probe.trainLabels), source: source,
        split: "\(rowsText)\(filter.map { ", \($0.column)\($0.op)\(formatNumberPlain($0.value))" } ?? ""): "
          + "probe test (every third of \(n) sampled; the rest train the probe)")
    }
    let names: [String]
    let labels: [Int]
    let ints = rawLabels.compactMap { Int($0) }
    if ints.count == rawLabels.count {
      let classes = classCount ?? ((ints.max() ?? 0) + 1)
      for (i, label) in ints.enumerated() where !(0..<classes).contains(label) {
        throw EvaluationError.invalidArgument(
          "\(spec.path) record \(records[keep[i]]): label \(label) in column '\(spec.columns[1])' is outside "
            + "0..<\(classes) (the model's classes)")
      }
      (names, labels) = ((0..<classes).map(String.init), ints)
    } else {
      names = Array(Set(rawLabels)).sorted()
      if let classCount, names.count > classCount {
        throw EvaluationError.invalidArgument(
          "\(spec.path) column '\(spec.columns[1])' holds \(names.count) label names; the model has \(classCount) classes")
      }
      let index = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
      labels = rawLabels.map { index[$0]! }
    }
    return EvaluationSet(
      inputs: .texts(texts), labels: labels, classNames: names, columns: columns, source: source, split: rowsText)
  }
}

/// One model made ready to score inputs: logits [N, classes] for any inputs of the set's kind.
struct ModelScorer {
  let graph: Graph
  /// An embedding model's probe (trained on its own embeddings of the probe-train texts).
  var probe: LogisticProbe?
  let score: (EvaluationInputs) throws -> Tensor
  /// What one inference at batch 1 is fed, for latency and MACs, and how it reads ("1×1×28×28").
  let single: [String: Tensor]
  let singleText: String
  /// For embedding models: the embeddings of the evaluated texts (for fidelity to the dense model).
  var embeddings: (values: [Float], hidden: Int)?
}

extension ModelScorer {
  static func make(
    graph: Graph, path: String, set: EvaluationSet, options: EvaluationOptions, progress: ((String) -> Void)?
  ) throws -> ModelScorer {
    let executor = try Executor(graph: graph)
    switch set.inputs {
    case .images(let images):
      guard let input = executor.requiredInputs.first?.name, executor.requiredInputs.count == 1,
        let output = graph.outputs.first?.name
      else {
        throw EvaluationError.invalidArgument(
          "\(path): an image classifier needs one input and an output; it has inputs "
            + "\(executor.requiredInputs.map(\.name)) and outputs \(graph.outputs.map(\.name))")
      }
      let batch = options.batchSize
      let score: (EvaluationInputs) throws -> Tensor = { inputs in
        guard case .images(let t) = inputs else { preconditionFailure("image scorer given texts") }
        return try runBatches(count: t.shape[0], batch: batch, path: path) { range in
          let rows = t.count / max(t.shape[0], 1)
          let slice = Tensor(
            shape: [range.count] + Array(t.shape.dropFirst()),
            floats: Array(t.floats[(range.lowerBound * rows)..<(range.upperBound * rows)]))
          guard let logits = try executor.run([input: slice])[output] else {
            throw EvaluationError.invalidArgument("\(path): output '\(output)' missing")
          }
          return logits
        }
      }
      let one = Tensor(shape: [1] + Array(images.shape.dropFirst()), floats: Array(images.floats.prefix(images.count / max(images.shape[0], 1))))
      return ModelScorer(
        graph: graph, score: score, single: [input: one],
        singleText: one.shape.map(String.init).joined(separator: "×"))
    case .texts(let texts):
      let tokenizer = try WordPieceTokenizer.forModel(path, folder: options.tokenizer)
      let required = Set(executor.requiredInputs.map(\.name))
      let single = tokenizer.encode([texts[0]], maxLength: options.maxLength).graphInputs.filter {
        required.contains($0.key)
      }
      let singleText = "1×\(single["input_ids"]?.shape.last ?? 0) tokens"
      if isEmbeddingModel(graph) {
        guard let train = set.probeTrain else {
          preconditionFailure("embedding model evaluated without probe data")
        }
        let embedder = try SentenceEmbedder(graph: graph, tokenizer: tokenizer, maxLength: options.maxLength)
        progress?("\(path): embedding \(train.texts.count) probe-train texts")
        let trainEmbeddings = try embedder.embed(train.texts)
        let probe = try LogisticProbe(
          x: trainEmbeddings.values, labels: train.labels, features: trainEmbeddings.hidden,
          classes: set.classNames.count)
        let score: (EvaluationInputs) throws -> Tensor = { inputs in
          guard case .texts(let t) = inputs else { preconditionFailure("text scorer given images") }
          let e = try embedder.embed(t)
          return probeScores(probe, e.values, count: t.count)
        }
        progress?("\(path): embedding \(texts.count) evaluation texts")
        let evaluated = try embedder.embed(texts)
        return ModelScorer(
          graph: graph, probe: probe, score: score, single: single, singleText: singleText, embeddings: evaluated)
      }
      guard let output = graph.outputs.first?.name else {
        throw EvaluationError.invalidArgument("\(path): the model has no outputs")
      }
      let (batch, maxLength) = (options.batchSize, options.maxLength)
      let score: (EvaluationInputs) throws -> Tensor = { inputs in
        guard case .texts(let t) = inputs else { preconditionFailure("text scorer given images") }
        return try runBatches(count: t.count, batch: min(batch, 32), path: path) { range in
          let encoding = tokenizer.encode(Array(t[range]), maxLength: maxLength)
          guard let logits = try executor.run(encoding.graphInputs.filter { required.contains($0.key) })[output] else {
            throw EvaluationError.invalidArgument("\(path): output '\(output)' missing")
          }
          return logits
        }
      }
      return ModelScorer(graph: graph, score: score, single: single, singleText: singleText)
    }
  }

  /// A BERT-style encoder (an output of rank 3, e.g. last_hidden_state) rather than a classifier.
  static func isEmbeddingModel(_ graph: Graph) -> Bool {
    graph.outputs.contains { $0.name == "last_hidden_state" } || (graph.outputs.first?.shape?.count == 3)
  }

  /// Logits [n, classes] of a linear probe: W·x + b for each row of `x` ([n, features]).
  static func probeScores(_ probe: LogisticProbe, _ x: [Float], count n: Int) -> Tensor {
    let (k, d) = (probe.classes, probe.features)
    var out = [Float](repeating: 0, count: n * k)
    for i in 0..<n {
      for a in 0..<k {
        var s = probe.bias[a]
        for j in 0..<d { s += probe.weights[a * d + j] * Double(x[i * d + j]) }
        out[i * k + a] = Float(s)
      }
    }
    return Tensor(shape: [n, k], floats: out)
  }

  /// Runs `body` over 0..<count in slices of `batch` and stacks the [rows, classes] results.
  static func runBatches(count: Int, batch: Int, path: String, _ body: (Range<Int>) throws -> Tensor) throws -> Tensor {
    var values: [Float] = []
    var classes = 0
    var start = 0
    while start < count {
      let range = start..<min(count, start + batch)
      let logits = try body(range).converted(to: .float32)
      guard logits.rank == 2, logits.shape[0] == range.count, classes == 0 || logits.shape[1] == classes else {
        throw EvaluationError.shape(
          what: "\(path) output", expected: "[\(range.count), classes]", found: "\(logits.shape)")
      }
      classes = logits.shape[1]
      values += logits.floats
      start = range.upperBound
    }
    return Tensor(shape: [count, classes], floats: values)
  }
}

func formatPercent(_ fraction: Double) -> String {
  let p = 100 * fraction
  return p == p.rounded() ? "\(Int(p))%" : String(format: "%.1f%%", p)
}

func formatNumberPlain(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e15 ? "\(Int(x))" : "\(x)" }
