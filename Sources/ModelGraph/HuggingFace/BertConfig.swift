import Foundation

/// The fields of a Hugging Face `config.json` that define a BERT encoder's graph
/// (transformers `BertConfig`). Values outside what `BertLoader` builds are rejected with the key,
/// the value found and the values supported.
public struct BertConfig: Sendable, Equatable {
  public var hiddenSize: Int
  public var numAttentionHeads: Int
  public var numHiddenLayers: Int
  public var intermediateSize: Int
  public var layerNormEps: Float
  /// Activation of the feed-forward block: "gelu", "gelu_new", "gelu_pytorch_tanh" or "relu".
  public var hiddenAct: String
  public var maxPositionEmbeddings: Int
  public var typeVocabSize: Int
  public var vocabSize: Int

  /// head_dim = hidden_size / num_attention_heads.
  public var headDim: Int { hiddenSize / numAttentionHeads }

  /// hidden_act values and the ONNX `Gelu`/`Relu` node each becomes (op type, `approximate`).
  static let activations: [String: (op: String, approximate: String?)] = [
    "gelu": ("Gelu", "none"),  // exact erf form, transformers GELUActivation
    "gelu_new": ("Gelu", "tanh"),
    "gelu_pytorch_tanh": ("Gelu", "tanh"),
    "relu": ("Relu", nil),
  ]

  public init(
    hiddenSize: Int, numAttentionHeads: Int, numHiddenLayers: Int, intermediateSize: Int,
    layerNormEps: Float = 1e-12, hiddenAct: String = "gelu", maxPositionEmbeddings: Int = 512,
    typeVocabSize: Int = 2, vocabSize: Int = 30522
  ) {
    self.hiddenSize = hiddenSize
    self.numAttentionHeads = numAttentionHeads
    self.numHiddenLayers = numHiddenLayers
    self.intermediateSize = intermediateSize
    self.layerNormEps = layerNormEps
    self.hiddenAct = hiddenAct
    self.maxPositionEmbeddings = maxPositionEmbeddings
    self.typeVocabSize = typeVocabSize
    self.vocabSize = vocabSize
  }

  /// Reads and checks `config.json`.
  public init(contentsOf path: String) throws {
    try InputPath.check(path)
    guard let data = FileManager.default.contents(atPath: path) else {
      throw ModelGraphError.fileNotFound(path: path)
    }
    let json: JSONTree
    do {
      json = try JSONTree.parse(Array(data))
    } catch {
      throw ModelGraphError.malformed(
        file: path, at: "JSON \(error.description)", expected: "valid JSON", found: "invalid JSON")
    }
    try self.init(json: json, file: path)
  }

  /// Reads and checks a parsed config; `file` names it in errors.
  public init(json: JSONTree, file: String) throws {
    func bad(_ key: String, _ expected: String, _ found: String) -> ModelGraphError {
      .malformed(file: file, at: "key '\(key)'", expected: expected, found: found)
    }
    guard json.objectValue != nil else { throw bad("(top level)", "a JSON object", json.kindName) }
    // Sizes above `max` (2^24; real BERTs stay far below) would only make later size products overflow.
    func int(_ key: String, default value: Int? = nil, min: Int = 1, max: Int = 1 << 24) throws -> Int {
      guard let v = json[key] else {
        if let value { return value }
        throw bad(key, "an integer in \(min)...\(max)", "no such key")
      }
      guard let n = v.intValue, n >= min, n <= max else {
        throw bad(key, "an integer in \(min)...\(max)", v.intValue.map { "\($0)" } ?? v.kindName)
      }
      return n
    }
    func string(_ key: String, default value: String) throws -> String {
      guard let v = json[key], v != .null else { return value }
      guard let s = v.stringValue else { throw bad(key, "a string", v.kindName) }
      return s
    }
    if let type = json["model_type"]?.stringValue, type != "bert" {
      throw bad("model_type", "\"bert\"", "\"\(type)\"")
    }
    let position = try string("position_embedding_type", default: "absolute")
    guard position == "absolute" else {
      throw bad("position_embedding_type", "\"absolute\"", "\"\(position)\"")
    }
    if json["is_decoder"]?.boolValue == true { throw bad("is_decoder", "false (an encoder)", "true") }
    hiddenSize = try int("hidden_size")
    numAttentionHeads = try int("num_attention_heads")
    numHiddenLayers = try int("num_hidden_layers", min: 0, max: 10_000)
    intermediateSize = try int("intermediate_size")
    maxPositionEmbeddings = try int("max_position_embeddings")
    typeVocabSize = try int("type_vocab_size", default: 2)
    vocabSize = try int("vocab_size")
    guard hiddenSize % numAttentionHeads == 0 else {
      throw bad(
        "num_attention_heads", "a divisor of hidden_size \(hiddenSize)", "\(numAttentionHeads)")
    }
    if let v = json["layer_norm_eps"] {
      guard let eps = v.doubleValue, eps > 0, eps < 1, Float(eps) > 0 else {
        throw bad("layer_norm_eps", "a number in (0, 1) (positive as a Float32)", v.kindName)
      }
      layerNormEps = Float(eps)
    } else {
      layerNormEps = 1e-12
    }
    hiddenAct = try string("hidden_act", default: "gelu")
    guard Self.activations[hiddenAct] != nil else {
      let known = Self.activations.keys.sorted().joined(separator: ", ")
      throw bad("hidden_act", "one of \(known)", "\"\(hiddenAct)\"")
    }
  }
}
