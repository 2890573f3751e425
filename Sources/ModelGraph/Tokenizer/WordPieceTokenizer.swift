import TensorCore

/// A batch of encoded texts, each [batch, sequence] int64 (the BertModel graph's inputs).
public struct BertEncoding: Sendable, Equatable {
  public var inputIds: Tensor
  public var attentionMask: Tensor
  public var tokenTypeIds: Tensor

  /// Keyed by the graph input names: input_ids, attention_mask, token_type_ids.
  public var graphInputs: [String: Tensor] {
    ["input_ids": inputIds, "attention_mask": attentionMask, "token_type_ids": tokenTypeIds]
  }
}

/// BERT's WordPiece tokenizer (Devlin et al. 2019; Wu et al. 2016 §4.1): `BertNormalizer`, split on
/// whitespace and punctuation, then greedy longest-match-first sub-words with the `##` prefix; a word
/// longer than `maxInputCharsPerWord` code points, or one that cannot be covered, becomes `[UNK]`.
/// `encode` adds `[CLS] … [SEP]`, truncates to `maxLength` and pads to the longest text in the batch.
public struct WordPieceTokenizer: Sendable {
  public var normalizer: BertNormalizer
  /// Token strings by id.
  public let tokens: [String]
  /// UTF-8 bytes of a token → id (bytes, not `String`, so lookups are exact code-point matches
  /// and not Unicode canonical equivalence).
  let ids: [[UInt8]: Int]
  public var unkToken = "[UNK]"
  public var clsToken = "[CLS]"
  public var sepToken = "[SEP]"
  public var padToken = "[PAD]"
  public var continuingSubwordPrefix = "##"
  public var maxInputCharsPerWord = 100
  /// Longest encoding, special tokens included.
  public var maxLength = 512
  /// Tokens matched verbatim in the raw text before normalisation (tokenizer.json `added_tokens`).
  public var specialTokens: [String]

  /// A tokenizer over `vocabulary` (token of id i at index i). Throws if a special token is missing.
  public init(
    vocabulary: [String], normalizer: BertNormalizer = BertNormalizer(), maxLength: Int = 512,
    source: String = "vocabulary"
  ) throws {
    self.tokens = vocabulary
    var ids: [[UInt8]: Int] = [:]
    for (i, token) in vocabulary.enumerated() { ids[Array(token.utf8)] = i }
    self.ids = ids
    self.normalizer = normalizer
    self.maxLength = maxLength
    self.specialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].filter { ids[Array($0.utf8)] != nil }
    for special in [unkToken, clsToken, sepToken, padToken] where ids[Array(special.utf8)] == nil {
      throw ModelGraphError.malformed(
        file: source, at: "token '\(special)'", expected: "a special token of the vocabulary",
        found: "none among \(vocabulary.count) tokens")
    }
  }

  /// The id of `token`, nil if it is not in the vocabulary.
  public func id(of token: String) -> Int? { ids[Array(token.utf8)] }

  /// Words after normalisation: split on whitespace, each punctuation character a word of its own
  /// (Hugging Face `BertPreTokenizer`).
  public func words(_ text: String) -> [[Unicode.Scalar]] {
    var words: [[Unicode.Scalar]] = []
    var current: [Unicode.Scalar] = []
    for c in normalizer.normalize(text) {
      if BertNormalizer.isWhitespace(c) || BertNormalizer.isPunctuation(c) {
        if !current.isEmpty { words.append(current) }
        current = []
        if !BertNormalizer.isWhitespace(c) { words.append([c]) }
      } else {
        current.append(c)
      }
    }
    if !current.isEmpty { words.append(current) }
    return words
  }

  /// Greedy longest-match-first WordPiece ids of one word.
  func wordPieceIds(_ word: [Unicode.Scalar]) -> [Int] {
    let unk = id(of: unkToken)!
    if word.count > maxInputCharsPerWord { return [unk] }
    let prefix = Array(continuingSubwordPrefix.utf8)
    var pieces: [Int] = []
    var start = 0
    while start < word.count {
      var end = word.count
      var found: Int? = nil
      while start < end {
        var key = start > 0 ? prefix : []
        for c in word[start..<end] { key.append(contentsOf: Array(String(c).utf8)) }
        if let i = ids[key] {
          found = i
          break
        }
        end -= 1
      }
      guard let piece = found else { return [unk] }
      pieces.append(piece)
      start = end
    }
    return pieces
  }

  /// Token ids of `text` without special tokens or truncation.
  public func tokenIds(_ text: String) -> [Int] {
    var out: [Int] = []
    for (segment, isSpecial) in splitSpecialTokens(text) {
      if isSpecial {
        out.append(id(of: segment)!)
      } else {
        for word in words(segment) { out += wordPieceIds(word) }
      }
    }
    return out
  }

  /// Token strings of `text` (for reading and debugging).
  public func tokenize(_ text: String) -> [String] { tokenIds(text).map { tokens[$0] } }

  /// Splits raw text around verbatim special tokens ("[SEP]" typed in a text is the separator).
  func splitSpecialTokens(_ text: String) -> [(String, Bool)] {
    let scalars = Array(text.unicodeScalars)
    let specials = specialTokens.map { Array($0.unicodeScalars) }.sorted { $0.count > $1.count }
    var parts: [(String, Bool)] = []
    var plainStart = 0
    var i = 0
    func flush(_ end: Int) {
      if end > plainStart {
        parts.append((String(String.UnicodeScalarView(scalars[plainStart..<end])), false))
      }
    }
    while i < scalars.count {
      if let match = specials.first(where: {
        i + $0.count <= scalars.count && Array(scalars[i..<i + $0.count]) == $0
      }) {
        flush(i)
        parts.append((String(String.UnicodeScalarView(match)), true))
        i += match.count
        plainStart = i
      } else {
        i += 1
      }
    }
    flush(scalars.count)
    return parts
  }

  /// `[CLS] a [SEP]` (and `b [SEP]` with token type 1 for a pair), truncated to `maxLength`
  /// (longest first for pairs), as (ids, token types).
  public func encodeOne(_ a: String, pair b: String? = nil, maxLength: Int? = nil) -> (
    ids: [Int], types: [Int]
  ) {
    let limit = maxLength ?? self.maxLength
    var first = tokenIds(a)
    var second = b.map(tokenIds) ?? []
    let budget = max(0, limit - (b == nil ? 2 : 3))
    var (n1, n2) = (first.count, second.count)
    while n1 + n2 > budget {  // Hugging Face TruncationStrategy.LongestFirst
      if n1 > n2 { n1 -= 1 } else { n2 -= 1 }
    }
    first = Array(first.prefix(n1))
    second = Array(second.prefix(n2))
    let (cls, sep) = (id(of: clsToken)!, id(of: sepToken)!)
    var ids = [cls] + first + [sep]
    var types = [Int](repeating: 0, count: ids.count)
    if b != nil {
      ids += second + [sep]
      types += [Int](repeating: 1, count: second.count + 1)
    }
    return (ids, types)
  }

  /// Encodes a batch, padded on the right to its longest member with `[PAD]` (mask 0, type 0).
  public func encode(_ texts: [String], pairs: [String]? = nil, maxLength: Int? = nil) -> BertEncoding {
    precondition(
      pairs == nil || pairs!.count == texts.count, "encode: \(texts.count) texts, \(pairs!.count) pairs")
    let rows = texts.indices.map { encodeOne(texts[$0], pair: pairs?[$0], maxLength: maxLength) }
    let width = rows.map(\.ids.count).max() ?? 0
    let pad = Int64(id(of: padToken)!)
    var ids: [Int64] = []
    var mask: [Int64] = []
    var types: [Int64] = []
    for row in rows {
      let padding = width - row.ids.count
      ids += row.ids.map(Int64.init) + [Int64](repeating: pad, count: padding)
      mask += [Int64](repeating: 1, count: row.ids.count) + [Int64](repeating: 0, count: padding)
      types += row.types.map(Int64.init) + [Int64](repeating: 0, count: padding)
    }
    let shape = [rows.count, width]
    return BertEncoding(
      inputIds: Tensor(shape: shape, int64s: ids), attentionMask: Tensor(shape: shape, int64s: mask),
      tokenTypeIds: Tensor(shape: shape, int64s: types))
  }
}
