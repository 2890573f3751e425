/// How a compressed model's answers differ from the dense model's on the same inputs.
/// "Flips" are the pruning-identified exemplars of Hooker et al. 2019.
public struct Agreement: Codable, Sendable, Equatable {
  public var sampleCount: Int
  /// Both models predict the same class.
  public var agreeing: Int
  /// Dense right, compressed wrong.
  public var lost: Int
  /// Dense wrong, compressed right.
  public var gained: Int
  /// Indices of samples where the two predictions differ.
  public var flipped: [Int]

  public init(dense: [Int], compressed: [Int], labels: [Int]) throws {
    guard dense.count == compressed.count else {
      throw EvaluationError.lengthMismatch(
        what: "dense vs compressed predictions", expected: dense.count, found: compressed.count)
    }
    guard labels.count == dense.count else {
      throw EvaluationError.lengthMismatch(what: "labels", expected: dense.count, found: labels.count)
    }
    sampleCount = dense.count
    agreeing = 0
    lost = 0
    gained = 0
    flipped = []
    for i in dense.indices {
      if dense[i] == compressed[i] {
        agreeing += 1
        continue
      }
      flipped.append(i)
      if dense[i] == labels[i] { lost += 1 }
      if compressed[i] == labels[i] { gained += 1 }
    }
  }

  public var agreementRate: Double { sampleCount == 0 ? 1 : Double(agreeing) / Double(sampleCount) }
}

/// Accuracy per group (e.g. per class, per data source, per demographic attribute) and the largest
/// gap between groups; groups are sorted by name.
public struct GroupDisparity: Codable, Sendable, Equatable {
  public struct Group: Codable, Sendable, Equatable {
    public var name: String
    public var count: Int
    public var accuracy: Double
  }

  public var groups: [Group]

  public init(groups: [String], correct: [Bool]) throws {
    guard groups.count == correct.count else {
      throw EvaluationError.lengthMismatch(
        what: "groups vs outcomes", expected: correct.count, found: groups.count)
    }
    var totals: [String: (n: Int, ok: Int)] = [:]
    for (group, ok) in zip(groups, correct) {
      totals[group, default: (0, 0)].n += 1
      if ok { totals[group, default: (0, 0)].ok += 1 }
    }
    self.groups = totals.keys.sorted().map { name in
      let t = totals[name]!
      return Group(name: name, count: t.n, accuracy: Double(t.ok) / Double(t.n))
    }
  }

  /// Highest minus lowest group accuracy.
  public var gap: Double {
    guard let lo = groups.map(\.accuracy).min(), let hi = groups.map(\.accuracy).max() else { return 0 }
    return hi - lo
  }

  /// Lowest over highest group accuracy (1 = parity).
  public var ratio: Double {
    guard let lo = groups.map(\.accuracy).min(), let hi = groups.map(\.accuracy).max(), hi > 0 else {
      return 1
    }
    return lo / hi
  }
}
