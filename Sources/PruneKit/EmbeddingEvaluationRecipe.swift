import Foundation
import ModelGraph
import Runtime
import Evaluation

/// The labelled texts of a linear probe and its train/test split: an evenly spaced sample of the
/// pool, every third sampled text (j mod 3 = 2) to test, the rest to train.
public struct ProbeData: Sendable {
  public var trainTexts: [String]
  public var trainLabels: [Int]
  public var testTexts: [String]
  public var testLabels: [Int]
  /// Label names, sorted; a label's index is its class.
  public var classes: [String]

  /// `pool`: (text, label) in file order; `sample`: how many to take (all when nil), sel[j] =
  /// pool[j·count / sample].
  public init(pool: [(text: String, label: String)], sample: Int?) throws {
    let n = sample ?? pool.count
    guard n >= 3, n <= pool.count else {
      throw EvaluationError.invalidArgument(
        "probe: need 3 ≤ sample ≤ pool size; the pool has \(pool.count) texts, sample \(n)")
    }
    classes = Array(Set(pool.map(\.label))).sorted()
    guard classes.count >= 2 else {
      throw EvaluationError.invalidArgument("probe: the labels hold \(classes.count) class(es); need at least 2")
    }
    let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
    (trainTexts, trainLabels, testTexts, testLabels) = ([], [], [], [])
    for j in 0..<n {
      let item = pool[j * pool.count / n]
      if j % 3 == 2 {
        testTexts.append(item.text)
        testLabels.append(index[item.label]!)
      } else {
        trainTexts.append(item.text)
        trainLabels.append(index[item.label]!)
      }
    }
  }
}

/// One model's figures against the dense model.
public struct EmbeddingScores: Sendable, Codable {
  public var model: String
  /// Cosine to the dense model's embeddings over the fidelity texts.
  public var fidelity: EmbeddingFidelity
  /// Mean cosine over the probe-test texts (nil without a probe).
  public var probeTestCosine: Double?
  public var probeAccuracy: Double?
  /// Fraction of probe-test texts whose predicted class differs from the dense model's probe.
  public var flips: Double?
  public var probeIterations: Int?
}

public struct EmbeddingEvaluation: Sendable, Codable {
  public var fidelityTexts: Int
  public var probeTrain: Int?
  public var probeTest: Int?
  public var classes: [String]?
  /// Accuracy of always predicting the most frequent training class, on probe-test.
  public var majorityBaseline: Double?
  public var dense: EmbeddingScores
  public var models: [EmbeddingScores]
}

/// `prunekit eval-embeddings`: embedding fidelity of compressed models to the dense one, and linear
/// probe accuracy and flips (the probe is trained on each model's own embeddings).
public enum EmbeddingEvaluationRecipe {
  public static func evaluate(
    dense: (name: String, graph: Graph), models: [(name: String, graph: Graph)], tokenizer: WordPieceTokenizer,
    texts: [String], probe: ProbeData?, maxLength: Int, progress: ((String) -> Void)? = nil
  ) throws -> EmbeddingEvaluation {
    struct Embedded {
      var fidelity: [Float]
      var train: [Float]
      var test: [Float]
      var hidden: Int
    }
    func embed(_ name: String, _ graph: Graph) throws -> Embedded {
      progress?("embedding with \(name)")
      let embedder = try SentenceEmbedder(graph: graph, tokenizer: tokenizer, maxLength: maxLength)
      let (f, hidden) = try embedder.embed(texts)
      let train = try probe.map { try embedder.embed($0.trainTexts).values } ?? []
      let test = try probe.map { try embedder.embed($0.testTexts).values } ?? []
      return Embedded(fidelity: f, train: train, test: test, hidden: hidden)
    }
    func probeFit(_ e: Embedded) throws -> (LogisticProbe, [Int])? {
      guard let probe else { return nil }
      let p = try LogisticProbe(
        x: e.train, labels: probe.trainLabels, features: e.hidden, classes: probe.classes.count)
      return (p, p.predict(e.test))
    }
    let d = try embed(dense.name, dense.graph)
    let denseProbe = try probeFit(d)
    func scores(_ name: String, _ e: Embedded) throws -> EmbeddingScores {
      guard e.hidden == d.hidden else {
        throw EvaluationError.shape(
          what: "embeddings of \(name)", expected: "\(d.hidden) features (as the dense model)", found: "\(e.hidden)")
      }
      let fit = try probeFit(e)
      var s = EmbeddingScores(model: name, fidelity: try EmbeddingFidelity(d.fidelity, e.fidelity, hidden: d.hidden))
      if let probe, let (p, predicted) = fit, let (_, densePredicted) = denseProbe {
        s.probeTestCosine = try EmbeddingFidelity(d.test, e.test, hidden: d.hidden).mean
        let n = Double(probe.testLabels.count)
        s.probeAccuracy = Double(zip(predicted, probe.testLabels).filter { $0 == $1 }.count) / n
        s.flips = Double(zip(predicted, densePredicted).filter { $0 != $1 }.count) / n
        s.probeIterations = p.iterations
      }
      return s
    }
    var results: [EmbeddingScores] = []
    for model in models { results.append(try scores(model.name, try embed(model.name, model.graph))) }
    var majority: Double? = nil
    if let probe {
      let counts = (0..<probe.classes.count).map { c in probe.trainLabels.filter { $0 == c }.count }
      let top = counts.firstIndex(of: counts.max()!)!
      majority = Double(probe.testLabels.filter { $0 == top }.count) / Double(probe.testLabels.count)
    }
    return EmbeddingEvaluation(
      fidelityTexts: texts.count, probeTrain: probe?.trainTexts.count, probeTest: probe?.testTexts.count,
      classes: probe?.classes, majorityBaseline: majority, dense: try scores(dense.name, d), models: results)
  }
}

/// A row filter `COLUMN>=VALUE` (also >, <=, <, ==) on a numeric column; an empty or non-numeric
/// value fails every comparison.
public struct RowFilter: Sendable, Equatable {
  public var column: String
  public var op: String
  public var value: Double

  public init(parsing text: String, option: String) throws {
    for op in [">=", "<=", "==", ">", "<"] {
      if let r = text.range(of: op) {
        let column = String(text[..<r.lowerBound])
        guard !column.isEmpty, let v = Double(text[r.upperBound...]), v.isFinite else { break }
        (self.column, self.op, self.value) = (column, op, v)
        return
      }
    }
    throw EvaluationError.invalidArgument("\(option): expected COLUMN>=NUMBER (or >, <=, <, ==), found '\(text)'")
  }

  public func accepts(_ text: String) -> Bool {
    guard let x = Double(text.trimmingCharacters(in: .whitespaces)) else { return false }
    switch op {
    case ">=": return x >= value
    case "<=": return x <= value
    case ">": return x > value
    case "<": return x < value
    default: return x == value
    }
  }
}
