import Foundation
import TensorCore
import Testing

@testable import ModelGraph

@Suite struct WordPieceTokenizerTests {
  /// A small vocabulary where each rule has exactly one right answer.
  static func tiny(maxLength: Int = 512) throws -> WordPieceTokenizer {
    let vocab = [
      "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "##a", "hello", "world", ",",
      "!",
      "$", "cafe", "中", "国", "don", "'", "t", "σοφια", "a", "##b",
    ]
    return try WordPieceTokenizer(vocabulary: vocab, maxLength: maxLength)
  }

  @Test func normalizesLikeBert() {
    let n = BertNormalizer()
    func text(_ s: [Unicode.Scalar]) -> String { String(String.UnicodeScalarView(s)) }
    // NUL, U+FFFD and ZWSP (Cf) dropped; tab and ideographic space become spaces
    #expect(text(n.normalize("Café\u{0}\u{FFFD}\u{200B}\tOK\u{3000}!")) == "cafe ok !")
    #expect(text(n.normalize("中国x")) == " 中  国 x")
    #expect(text(n.normalize("ΣΟΦΊΑ")) == "σοφια")  // no final-sigma rule, accents stripped
    let cased = BertNormalizer(lowercase: false)
    #expect(text(cased.normalize("Café")) == "Café")
    #expect(text(BertNormalizer(stripAccents: false).normalize("CAFÉ")) == "café")
  }

  @Test func punctuationFollowsBertsDefinition() {
    for c in ["$", "+", "^", "`", "|", "~", "!", "\u{00BF}", "\u{2014}", "\u{300C}"] {
      #expect(BertNormalizer.isPunctuation(c.unicodeScalars.first!), "\(c)")
    }
    for c in ["a", "1", " ", "\u{00A9}", "€"] {
      #expect(!BertNormalizer.isPunctuation(c.unicodeScalars.first!), "\(c)")
    }
  }

  @Test func greedyLongestMatchFirst() throws {
    let t = try Self.tiny()
    #expect(t.tokenize("unaffable") == ["un", "##aff", "##able"])
    #expect(t.tokenize("Hello, WORLD!") == ["hello", ",", "world", "!"])
    #expect(t.tokenize("don't $") == ["don", "'", "t", "$"])
    #expect(t.tokenize("unx hello") == ["[UNK]", "hello"])  // a word that cannot be covered is one [UNK]
    #expect(t.tokenize("中国") == ["中", "国"])
    #expect(t.tokenize("café") == ["cafe"])
    #expect(
      t.tokenize("ab" + String(repeating: "b", count: 98)) == ["a"] + Array(repeating: "##b", count: 99))
    #expect(t.tokenize("ab" + String(repeating: "b", count: 99)) == ["[UNK]"])  // 101 characters
    #expect(t.tokenize("hello [SEP] world") == ["hello", "[SEP]", "world"])
  }

  @Test func encodesBatchesWithSpecialTokensTruncationAndPadding() throws {
    let t = try Self.tiny(maxLength: 5)
    let e = t.encode(["hello world , hello !", "hello"])
    #expect(e.inputIds == Tensor(shape: [2, 5], int64s: [2, 9, 10, 11, 3, 2, 9, 3, 0, 0]))
    #expect(e.attentionMask == Tensor(shape: [2, 5], int64s: [1, 1, 1, 1, 1, 1, 1, 1, 0, 0]))
    #expect(e.tokenTypeIds == Tensor(shape: [2, 5], int64s: Array(repeating: 0, count: 10)))
    // Pair, 6 tokens at most: 3 specials + 3 words; longest first takes "!" off the first text.
    let pair = t.encodeOne("hello world !", pair: "cafe", maxLength: 6)
    #expect(pair.ids == [2, 9, 10, 3, 14, 3])
    #expect(pair.types == [0, 0, 0, 0, 1, 1])
  }

  @Test func missingSpecialTokenIsNamed() {
    #expect(throws: ModelGraphError.self) { try WordPieceTokenizer(vocabulary: ["[PAD]", "a"]) }
  }

  /// The all-MiniLM-L6-v2 tokenizer reproduces the model's own ids for the 64 reference tweets.
  @Test(.enabled(if: MiniLM.available)) func reproducesMiniLMReferenceIds() throws {
    let tokenizer = try WordPieceTokenizer(folder: MiniLM.folder)
    #expect(tokenizer.maxLength == 128)
    let data = try Data(contentsOf: URL(fileURLWithPath: "\(MiniLM.folder)/reference.json"))
    let json = try JSONTree.parse(Array(data))
    let texts = try #require(json["texts"]?.arrayValue?.compactMap { $0.stringValue })
    #expect(texts.count == 64)
    let reference = try SafeTensorsFile(path: "\(MiniLM.folder)/reference.safetensors")
    let encoding = tokenizer.encode(texts)
    let expectedIds = try reference.tensor(named: "input_ids")
    #expect(encoding.inputIds.shape == expectedIds.shape)
    let width = expectedIds.shape[1]
    for row in 0..<texts.count where encoding.inputIds.shape == expectedIds.shape {
      let range = row * width..<(row + 1) * width
      #expect(
        Array(encoding.inputIds.int64s[range]) == Array(expectedIds.int64s[range]),
        "row \(row): \(texts[row]) → \(tokenizer.tokenize(texts[row]))")
    }
    #expect(encoding.attentionMask == (try reference.tensor(named: "attention_mask")))
    #expect(encoding.tokenTypeIds == (try reference.tensor(named: "token_type_ids")))
  }
}
