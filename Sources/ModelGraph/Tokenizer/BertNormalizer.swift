import Foundation

/// BERT text normalisation, step for step as Hugging Face tokenizers' `BertNormalizer` does it
/// (and Google's original `BasicTokenizer`, tokenization.py): clean the text, put spaces around CJK
/// ideographs, strip accents (NFD, then drop nonspacing marks), lower-case. Works on Unicode scalars,
/// never on grapheme clusters, so that the result is the same code points the reference produces.
public struct BertNormalizer: Sendable, Equatable {
  /// Drop NUL, U+FFFD and control characters; map whitespace to ' '.
  public var cleanText = true
  /// Surround CJK Unified Ideographs with spaces so each becomes its own word.
  public var handleChineseChars = true
  /// nil: strip accents exactly when lower-casing (the reference's default).
  public var stripAccents: Bool? = nil
  public var lowercase = true

  public init(
    cleanText: Bool = true, handleChineseChars: Bool = true, stripAccents: Bool? = nil, lowercase: Bool = true
  ) {
    self.cleanText = cleanText
    self.handleChineseChars = handleChineseChars
    self.stripAccents = stripAccents
    self.lowercase = lowercase
  }

  public func normalize(_ text: String) -> [Unicode.Scalar] {
    var scalars = Array(text.unicodeScalars)
    if cleanText {
      scalars = scalars.compactMap { c in
        if c == "\0" || c == "\u{FFFD}" || Self.isControl(c) { return nil }
        return Self.isWhitespace(c) ? " " : c
      }
    }
    if handleChineseChars {
      var out: [Unicode.Scalar] = []
      out.reserveCapacity(scalars.count)
      for c in scalars {
        if Self.isChineseChar(c) { out += [" ", c, " "] } else { out.append(c) }
      }
      scalars = out
    }
    if stripAccents ?? lowercase {
      let decomposed = String(String.UnicodeScalarView(scalars)).decomposedStringWithCanonicalMapping
      scalars = decomposed.unicodeScalars.filter { $0.properties.generalCategory != .nonspacingMark }
    }
    if lowercase {
      // Per code point, without context (Rust `char::to_lowercase`): 'Σ' → 'σ' everywhere.
      scalars = scalars.flatMap { c in
        c.properties.changesWhenLowercased ? Array(c.properties.lowercaseMapping.unicodeScalars) : [c]
      }
    }
    return scalars
  }

  /// '\t', '\n', '\r' and the Unicode White_Space property (Rust `char::is_whitespace`).
  public static func isWhitespace(_ c: Unicode.Scalar) -> Bool {
    c == "\t" || c == "\n" || c == "\r" || c.properties.isWhitespace
  }

  /// Categories C* (Cc, Cf, Cn, Co, Cs), except '\t', '\n', '\r' which count as whitespace.
  public static func isControl(_ c: Unicode.Scalar) -> Bool {
    if c == "\t" || c == "\n" || c == "\r" { return false }
    switch c.properties.generalCategory {
    case .control, .format, .unassigned, .privateUse, .surrogate: return true
    default: return false
    }
  }

  /// BERT's punctuation: every ASCII non-letter/digit/space printable (so `$`, `+`, `^`, `` ` ``
  /// count, unlike Unicode), plus the Unicode P* categories.
  public static func isPunctuation(_ c: Unicode.Scalar) -> Bool {
    let v = c.value
    if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) {
      return true
    }
    switch c.properties.generalCategory {
    case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
      .initialPunctuation, .finalPunctuation, .otherPunctuation:
      return true
    default: return false
    }
  }

  /// The CJK Unified Ideographs blocks of the original BERT (not Hangul, Hiragana or Katakana).
  static let chineseRanges: [ClosedRange<UInt32>] = [
    0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
    0x2B820...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F,
  ]

  public static func isChineseChar(_ c: Unicode.Scalar) -> Bool {
    chineseRanges.contains { $0.contains(c.value) }
  }
}
