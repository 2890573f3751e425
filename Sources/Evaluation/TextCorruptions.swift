import TensorCore

/// Named text corruptions at severities 1…5 (after the character- and word-level perturbations of
/// Belinkov & Bisk 2018 and TextFlint): each letter (or word) is hit independently with probability
/// rate(s) = 0.05, 0.10, 0.15, 0.20, 0.30. Seeded: a (kind, severity, seed) triple always gives the
/// same texts.
///
/// | kind | what a hit does |
/// |---|---|
/// | typos | a letter becomes one of its QWERTY neighbours (same case) |
/// | swaps | a letter trades places with the next letter of its word |
/// | casing | a letter's case is flipped |
/// | dropped-words | a word is deleted (a text keeps at least one word) |
public enum TextCorruptionKind: String, CaseIterable, Codable, Sendable {
  case typos
  case swaps
  case casing
  case droppedWords = "dropped-words"

  public static let severities = 1...5

  public static func rate(severity s: Int) -> Double {
    precondition(severities.contains(s), "TextCorruptionKind: severity \(s) outside 1...5")
    return [0.05, 0.10, 0.15, 0.20, 0.30][s - 1]
  }

  static let neighbours: [Character: String] = {
    let rows = ["qwertyuiop", "asdfghjkl", "zxcvbnm"].map { Array($0) }
    var table: [Character: String] = [:]
    for (r, row) in rows.enumerated() {
      for (i, ch) in row.enumerated() {
        var near = ""
        if i > 0 { near.append(row[i - 1]) }
        if i + 1 < row.count { near.append(row[i + 1]) }
        for other in [r - 1, r + 1] where (0..<rows.count).contains(other) {
          for j in [i - 1, i, i + 1] where (0..<rows[other].count).contains(j) { near.append(rows[other][j]) }
        }
        table[ch] = near
      }
    }
    return table
  }()

  /// The corrupted texts, in order; one generator runs through them all.
  public func apply(to texts: [String], severity: Int, seed: UInt64) throws -> [String] {
    guard Self.severities.contains(severity) else {
      throw EvaluationError.invalidArgument("corruption \(rawValue): severity \(severity) is outside 1...5")
    }
    let rate = Float(Self.rate(severity: severity))
    var rng = SeededGenerator(seed: seed)
    func pick(_ n: Int) -> Int { Int(UInt64(n).multipliedFullWidth(by: rng.next()).high) }
    return texts.map { text in
      switch self {
      case .typos:
        return String(
          text.map { ch -> Character in
            guard let near = Self.neighbours[Character(ch.lowercased())], rng.nextUniform() < rate else { return ch }
            let chosen = Array(near)[pick(near.count)]
            return ch.isUppercase ? Character(chosen.uppercased()) : chosen
          })
      case .swaps:
        var chars = Array(text)
        var i = 0
        while i + 1 < chars.count {
          if chars[i].isLetter, chars[i + 1].isLetter, rng.nextUniform() < rate {
            chars.swapAt(i, i + 1)
            i += 2
          } else {
            i += 1
          }
        }
        return String(chars)
      case .casing:
        return String(
          text.map { ch -> Character in
            guard ch.isLetter, ch.isCased, rng.nextUniform() < rate else { return ch }
            return Character(ch.isUppercase ? ch.lowercased() : ch.uppercased())
          })
      case .droppedWords:
        let words = text.split(separator: " ", omittingEmptySubsequences: true)
        let kept = words.filter { _ in rng.nextUniform() >= rate }
        return kept.isEmpty ? String(words.first ?? Substring(text)) : kept.joined(separator: " ")
      }
    }
  }
}
