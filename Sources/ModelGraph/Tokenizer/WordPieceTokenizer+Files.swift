import Foundation

extension WordPieceTokenizer {
  /// A tokenizer from a Hugging Face folder: the vocabulary from `vocab.txt` (or `tokenizer.json`'s
  /// WordPiece vocab), settings from `tokenizer.json` (normalizer, truncation max_length, unk token,
  /// `##` prefix, max_input_chars_per_word, added special tokens) or else `tokenizer_config.json`
  /// (do_lower_case, strip_accents, tokenize_chinese_chars, model_max_length).
  public init(folder: String) throws {
    let fm = FileManager.default
    let vocabPath = "\(folder)/vocab.txt"
    let jsonPath = "\(folder)/tokenizer.json"
    let configPath = "\(folder)/tokenizer_config.json"
    let json = fm.fileExists(atPath: jsonPath) ? try Self.readJSON(jsonPath) : nil
    let config = fm.fileExists(atPath: configPath) ? try Self.readJSON(configPath) : nil
    let model = json?["model"]
    var vocabulary: [String]
    var source = vocabPath
    if fm.fileExists(atPath: vocabPath) {
      vocabulary = try Self.readVocabulary(vocabPath)
    } else if let pairs = model?["vocab"]?.objectValue {
      source = jsonPath
      vocabulary = [String](repeating: "", count: pairs.count)
      for (token, v) in pairs {
        guard let i = v.intValue, vocabulary.indices.contains(i) else {
          throw ModelGraphError.malformed(
            file: jsonPath, at: "model.vocab['\(token)']", expected: "an id in 0..<\(pairs.count)",
            found: v.kindName)
        }
        vocabulary[i] = token
      }
    } else {
      throw ModelGraphError.fileNotFound(path: vocabPath)
    }
    if let type = model?["type"]?.stringValue, type != "WordPiece" {
      throw ModelGraphError.malformed(
        file: jsonPath, at: "model.type", expected: "\"WordPiece\"", found: "\"\(type)\"")
    }
    var normalizer = BertNormalizer()
    var maxLength = 512
    if let n = json?["normalizer"], n != .null {
      guard n["type"]?.stringValue == "BertNormalizer" else {
        throw ModelGraphError.malformed(
          file: jsonPath, at: "normalizer.type", expected: "\"BertNormalizer\"",
          found: n["type"]?.kindName ?? "nothing")
      }
      normalizer.lowercase = n["lowercase"]?.boolValue ?? true
      normalizer.stripAccents = n["strip_accents"]?.boolValue
      normalizer.cleanText = n["clean_text"]?.boolValue ?? true
      normalizer.handleChineseChars = n["handle_chinese_chars"]?.boolValue ?? true
    } else if let c = config {
      normalizer.lowercase = c["do_lower_case"]?.boolValue ?? true
      normalizer.stripAccents = c["strip_accents"]?.boolValue
      normalizer.handleChineseChars = c["tokenize_chinese_chars"]?.boolValue ?? true
    }
    if let m = json?["truncation"]?["max_length"]?.intValue {
      guard (2...(1 << 24)).contains(m) else {
        throw ModelGraphError.malformed(
          file: jsonPath, at: "truncation.max_length", expected: "an integer in 2...\(1 << 24)", found: "\(m)")
      }
      maxLength = m
    } else if let m = config?["model_max_length"]?.doubleValue, m >= 2, m < 1e9 {
      maxLength = Int(m)
    }
    try self.init(vocabulary: vocabulary, normalizer: normalizer, maxLength: maxLength, source: source)
    if let unk = model?["unk_token"]?.stringValue {
      guard id(of: unk) != nil else {
        throw ModelGraphError.malformed(
          file: jsonPath, at: "model.unk_token", expected: "a token of the vocabulary", found: "'\(unk)'")
      }
      unkToken = unk
    }
    if let prefix = model?["continuing_subword_prefix"]?.stringValue { continuingSubwordPrefix = prefix }
    if let m = model?["max_input_chars_per_word"]?.intValue {
      guard m >= 1 else {
        throw ModelGraphError.malformed(
          file: jsonPath, at: "model.max_input_chars_per_word", expected: "an integer ≥ 1", found: "\(m)")
      }
      maxInputCharsPerWord = m
    }
    if let added = json?["added_tokens"]?.arrayValue {
      specialTokens = added.compactMap { t in
        guard t["special"]?.boolValue == true, let s = t["content"]?.stringValue, id(of: s) != nil else {
          return nil
        }
        return s
      }
    }
  }

  /// One token per line; id = line number (trailing "\r" dropped, as `BufRead::lines` does).
  static func readVocabulary(_ path: String) throws -> [String] {
    try InputPath.check(path)
    guard let data = FileManager.default.contents(atPath: path) else {
      throw ModelGraphError.fileNotFound(path: path)
    }
    return try parseVocabulary(Array(data), file: path)
  }

  /// The tokens of a `vocab.txt` file's bytes; `file` names it in errors.
  static func parseVocabulary(_ data: [UInt8], file path: String) throws -> [String] {
    var lines: [String] = []
    for (number, bytes) in data.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
      let line = bytes.last == 0x0D ? bytes.dropLast() : bytes[...]
      guard let token = String(validating: line, as: UTF8.self) else {
        throw ModelGraphError.malformed(
          file: path, at: "line \(number + 1)", expected: "UTF-8 text", found: "invalid UTF-8")
      }
      lines.append(token)
    }
    if lines.last == "" { lines.removeLast() }
    guard !lines.isEmpty else {
      throw ModelGraphError.malformed(
        file: path, at: "contents", expected: "one token per line", found: "an empty file")
    }
    return lines
  }

  static func readJSON(_ path: String) throws -> JSONTree {
    try InputPath.check(path)
    guard let data = FileManager.default.contents(atPath: path) else {
      throw ModelGraphError.fileNotFound(path: path)
    }
    do {
      return try JSONTree.parse(Array(data))
    } catch {
      throw ModelGraphError.malformed(
        file: path, at: "JSON \(error.description)", expected: "valid JSON", found: "invalid JSON")
    }
  }
}
