import Foundation

/// Groups of texts by a user's rule file: one rule per line, `GROUP: word, word, …` (case-insensitive
/// whole-word or phrase matches; a line starting with `#` is a comment, so words may be hashtags). A text belongs to the first group with a
/// matching word, else to `other`. Example (tweet topics):
///
///     airlines: united, delta, jetblue, southwest, @americanair, flight
///     Apple: apple, iphone, ipad, #apple
public struct TextGroupRules: Sendable, Equatable {
  public struct Rule: Sendable, Equatable {
    public var group: String
    public var words: [String]
  }

  public static let unmatchedGroup = "other"
  public var rules: [Rule]
  /// Where the rules came from (for messages).
  public var source: String

  public init(parsing text: String, source: String) throws {
    self.source = source
    rules = []
    for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let line = String(raw)
      let trimmed = line.trimmingCharacters(in: .whitespaces)
      if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
      guard let colon = line.firstIndex(of: ":") else {
        throw EvaluationError.invalidArgument(
          "\(source) line \(number + 1): expected 'GROUP: word, word, …', found '\(line)'")
      }
      let group = line[..<colon].trimmingCharacters(in: .whitespaces)
      let words = line[line.index(after: colon)...].split(separator: ",").map {
        $0.trimmingCharacters(in: .whitespaces).lowercased()
      }.filter { !$0.isEmpty }
      guard !group.isEmpty, !words.isEmpty else {
        throw EvaluationError.invalidArgument(
          "\(source) line \(number + 1): a rule needs a group name and at least one word, found '\(line)'")
      }
      rules.append(Rule(group: group, words: words))
    }
    guard !rules.isEmpty else { throw EvaluationError.invalidArgument("\(source): holds no rules ('GROUP: word, …')") }
  }

  public init(contentsOf path: String) throws {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw EvaluationError.invalidArgument("\(path): cannot read the group rule file")
    }
    try self.init(parsing: String(decoding: data, as: UTF8.self), source: path)
  }

  /// The group of each text. Every rule's group must match at least one text, else an error names it.
  public func assign(_ texts: [String]) throws -> [String] {
    let tokenized = texts.map { " " + Self.normalise($0) + " " }
    var used = Set<String>()
    let groups = tokenized.map { text -> String in
      for rule in rules where rule.words.contains(where: { text.contains(" " + Self.normalise($0) + " ") }) {
        used.insert(rule.group)
        return rule.group
      }
      return Self.unmatchedGroup
    }
    if let unused = rules.first(where: { !used.contains($0.group) }) {
      throw EvaluationError.invalidArgument(
        "\(source): group '\(unused.group)' matches none of the \(texts.count) texts (words: "
          + "\(unused.words.prefix(5).joined(separator: ", ")))")
    }
    return groups
  }

  /// Lower case, every character that is not a letter, digit, '@' or '#' turned into a space.
  static func normalise(_ text: String) -> String {
    let mapped = text.lowercased().map { ch -> Character in
      ch.isLetter || ch.isNumber || ch == "@" || ch == "#" ? ch : " "
    }
    return String(mapped).split(separator: " ").joined(separator: " ")
  }
}
