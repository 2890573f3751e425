import Foundation
import TensorCore

/// Builds a `Graph` of standard ONNX ops (opset 20) for a Hugging Face BERT encoder (transformers
/// `BertModel`) from `config.json` + `model.safetensors`.
///
/// Inputs `input_ids`, `attention_mask`, `token_type_ids`: int64 [batch, sequence]; output
/// `last_hidden_state`: float32 [batch, sequence, hidden]. Weights keep their checkpoint names and
/// layouts (nn.Linear `[out, in]`, applied by `Gemm` with transB = 1; a `bert.` prefix is kept when the
/// file has it), so `ModelFile.save(graph, to: "x.safetensors")` gives the checkpoint back. Nodes are
/// named after the HF modules (`encoder.layer.3.attention.self.query`); helper nodes add `/what`.
///
/// Attention heads are visible for pruning: per layer, `Constant` nodes
/// `encoder.layer.N.attention.self.heads_shape` = [num_heads, head_dim] (split Q/K/V into heads) and
/// `encoder.layer.N.attention.self.context_shape` = [-1, num_heads·head_dim] (merge them back).
/// Removing heads means cutting rows of query/key/value, columns of attention.output.dense, and
/// rewriting these two constants; `head_dim` and the 1/√head_dim scale do not change.
public enum BertLoader {
  /// The graph of a Hugging Face folder (config.json + model.safetensors) or of a `.safetensors` file
  /// with `config.json` beside it.
  public static func load(from path: String) throws -> Graph {
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
      throw ModelGraphError.fileNotFound(path: path)
    }
    let folder = isFolder.boolValue ? path : (path as NSString).deletingLastPathComponent
    let weightsPath =
      isFolder.boolValue ? (path as NSString).appendingPathComponent("model.safetensors") : path
    let configPath = ((folder.isEmpty ? "." : folder) as NSString).appendingPathComponent("config.json")
    guard FileManager.default.fileExists(atPath: configPath) else {
      throw ModelGraphError.unreadable(
        path: weightsPath, reason:
          "expected a graph in its metadata (as PruneKit writes) or a BERT config.json beside it; "
          + "\(configPath) is missing")
    }
    let config = try BertConfig(contentsOf: configPath)
    let file = try SafeTensorsFile(path: weightsPath)
    var graph = try buildGraph(
      config: config, names: file.names, source: weightsPath, tensor: { try file.tensor(named: $0) })
    graph.metadata["source"] = weightsPath
    return graph
  }

  /// The graph for `config` with weights fetched by name through `tensor` (`names`: every tensor
  /// available, to find the `bert.` prefix; `source` names the weights in errors).
  public static func buildGraph(
    config: BertConfig, names: [String], source: String, tensor: @escaping (String) throws -> Tensor
  ) throws -> Graph {
    let available = Set(names)
    let prefix: String
    if available.contains("embeddings.word_embeddings.weight") {
      prefix = ""
    } else if available.contains("bert.embeddings.word_embeddings.weight") {
      prefix = "bert."
    } else {
      throw ModelGraphError.malformed(
        file: source, at: "tensor 'embeddings.word_embeddings.weight'",
        expected: "a BertModel checkpoint (with or without the 'bert.' prefix)",
        found: "\(names.count) tensors, first: \(names.sorted().prefix(3).joined(separator: ", "))")
    }
    var b = HFGraphBuilder(graph: Graph(name: "bert", opsetVersion: 20))
    let h = config.hiddenSize
    let weight = BertWeights(prefix: prefix, available: available, source: source, fetch: tensor)
    let dims: [Dim] = [.symbolic("batch"), .symbolic("sequence")]
    b.graph.inputs = ["input_ids", "attention_mask", "token_type_ids"].map {
      ValueInfo(name: $0, dtype: .int64, shape: dims)
    }
    b.graph.outputs = [ValueInfo(name: "last_hidden_state", dtype: .float32, shape: dims + [.fixed(h)])]

    var x = try embeddings(&b, config, weight)
    let mask = attentionMaskBias(&b)
    for layer in 0..<config.numHiddenLayers {
      x = try encoderLayer(&b, config, layer: layer, x: x, maskBias: mask, weight)
    }
    for (name, t) in weight.loaded { b.graph.setInitializer(name, t) }
    // [tokens, hidden] → [batch, sequence, hidden]
    let tail = b.constant("encoder/output_shape_tail", int64s: [Int64(h)])
    let outShape = b.node("encoder/output_shape", "Concat", ["input_shape", tail], ["axis": .int(0)])
    b.graph.nodes.append(
      Node(
        name: "encoder/unflatten", opType: "Reshape", inputs: [x, outShape], outputs: ["last_hidden_state"]))
    b.graph.metadata["hf.model_type"] = "bert"
    b.graph.metadata["hf.weight_prefix"] = prefix
    b.graph.metadata["hf.num_attention_heads"] = "\(config.numAttentionHeads)"
    b.graph.metadata["hf.head_dim"] = "\(config.headDim)"
    return b.graph
  }

  /// Word + position + token-type embeddings, LayerNorm, flattened to tokens: [batch·sequence, hidden].
  static func embeddings(_ b: inout HFGraphBuilder, _ c: BertConfig, _ weight: BertWeights) throws
    -> String
  {
    let h = c.hiddenSize
    let wordW = try weight("embeddings.word_embeddings", "weight", [c.vocabSize, h])
    let posW = try weight("embeddings.position_embeddings", "weight", [c.maxPositionEmbeddings, h])
    let typeW = try weight("embeddings.token_type_embeddings", "weight", [c.typeVocabSize, h])
    let lnW = try weight("embeddings.LayerNorm", "weight", [h])
    let lnB = try weight("embeddings.LayerNorm", "bias", [h])
    let words = b.node("embeddings.word_embeddings", "Gather", [wordW, "input_ids"], ["axis": .int(0)])
    let types = b.node(
      "embeddings.token_type_embeddings", "Gather", [typeW, "token_type_ids"], ["axis": .int(0)])
    // position_ids = 0..<sequence: the first `sequence` rows of the position table, [sequence, hidden]
    b.node("input_shape", "Shape", ["input_ids"])  // [2] = (batch, sequence)
    let one = b.constant("embeddings/one", int64s: [1])
    let two = b.constant("embeddings/two", int64s: [2])
    let zero = b.constant("embeddings/zero", int64s: [0])
    let seq = b.node("embeddings/sequence_length", "Slice", ["input_shape", one, two, zero])
    let positions = b.node("embeddings.position_embeddings", "Slice", [posW, zero, seq, zero])
    let sum = b.node("embeddings/add_token_type", "Add", [words, types])
    let all = b.node("embeddings/add_position", "Add", [sum, positions])
    let ln = b.layerNorm("embeddings.LayerNorm", all, scale: lnW, bias: lnB, epsilon: c.layerNormEps)
    let flat = b.constant("embeddings/flatten_shape", int64s: [-1, Int64(h)])
    return b.node("embeddings/flatten", "Reshape", [ln, flat])
  }

  /// Additive attention bias (transformers `get_extended_attention_mask`): (1 − mask)·float32.min,
  /// [batch, 1, 1, sequence], 0 where attended.
  static func attentionMaskBias(_ b: inout HFGraphBuilder) -> String {
    let m = b.node("attention_mask/float", "Cast", ["attention_mask"], ["to": .int(1)])  // 1 = FLOAT
    let one = b.constant("attention_mask/one", float: 1)
    let inverted = b.node("attention_mask/inverted", "Sub", [one, m])
    let minimum = b.constant("attention_mask/float_min", float: -Float.greatestFiniteMagnitude)
    let bias = b.node("attention_mask/bias", "Mul", [inverted, minimum])
    let axes = b.constant("attention_mask/axes", int64s: [1, 2])
    return b.node("attention_mask/extended", "Unsqueeze", [bias, axes])
  }

  /// One BertLayer: self-attention, residual + LayerNorm, feed-forward, residual + LayerNorm.
  /// x: [tokens, hidden] → [tokens, hidden].
  static func encoderLayer(
    _ b: inout HFGraphBuilder, _ c: BertConfig, layer: Int, x: String, maskBias: String,
    _ weight: BertWeights
  ) throws -> String {
    let (h, heads, d, i) = (c.hiddenSize, c.numAttentionHeads, c.headDim, c.intermediateSize)
    let p = "encoder.layer.\(layer)"
    let s = "\(p).attention.self"
    func project(_ name: String) throws -> String {
      b.linear(
        "\(s).\(name)", x, weight: try weight("\(s).\(name)", "weight", [heads * d, h]),
        bias: try weight("\(s).\(name)", "bias", [heads * d]))
    }
    let (q, k, v) = (try project("query"), try project("key"), try project("value"))
    // Split heads: [tokens, heads·d] → [batch, sequence, heads, d]
    let headsShape = b.constant("\(s).heads_shape", int64s: [Int64(heads), Int64(d)])
    let shape4 = b.node("\(s)/split_shape", "Concat", ["input_shape", headsShape], ["axis": .int(0)])
    func splitHeads(_ t: String, _ name: String, _ perm: [Int]) -> String {
      let r = b.node("\(s)/\(name)_split", "Reshape", [t, shape4])
      return b.node("\(s)/\(name)_heads", "Transpose", [r], ["perm": .ints(perm)])
    }
    let qh = splitHeads(q, "query", [0, 2, 1, 3])  // [batch, heads, sequence, d]
    let kh = splitHeads(k, "key", [0, 2, 3, 1])  // [batch, heads, d, sequence]
    let vh = splitHeads(v, "value", [0, 2, 1, 3])  // [batch, heads, sequence, d]
    // Scaled dot-product attention (Vaswani et al. 2017, eq. 1) with the additive mask.
    let scores = b.node("\(s)/scores", "MatMul", [qh, kh])  // [batch, heads, sequence, sequence]
    let scale = b.constant("\(s).scale", float: Float(d).squareRoot())
    let scaled = b.node("\(s)/scaled", "Div", [scores, scale])
    let masked = b.node("\(s)/masked", "Add", [scaled, maskBias])
    let probs = b.node("\(s)/probs", "Softmax", [masked], ["axis": .int(-1)])
    let context = b.node("\(s)/context", "MatMul", [probs, vh])  // [batch, heads, sequence, d]
    let merged = b.node("\(s)/context_merge", "Transpose", [context], ["perm": .ints([0, 2, 1, 3])])
    let contextShape = b.constant("\(s).context_shape", int64s: [-1, Int64(heads * d)])
    let flat = b.node("\(s)/context_flatten", "Reshape", [merged, contextShape])  // [tokens, heads·d]
    // BertSelfOutput: dense, residual, LayerNorm
    let o = "\(p).attention.output"
    let dense = b.linear(
      "\(o).dense", flat, weight: try weight("\(o).dense", "weight", [h, heads * d]),
      bias: try weight("\(o).dense", "bias", [h]))
    let res1 = b.node("\(o)/residual", "Add", [dense, x])
    let attn = b.layerNorm(
      "\(o).LayerNorm", res1, scale: try weight("\(o).LayerNorm", "weight", [h]),
      bias: try weight("\(o).LayerNorm", "bias", [h]), epsilon: c.layerNormEps)
    // BertIntermediate + BertOutput
    let up = b.linear(
      "\(p).intermediate.dense", attn, weight: try weight("\(p).intermediate.dense", "weight", [i, h]),
      bias: try weight("\(p).intermediate.dense", "bias", [i]))
    let act = BertConfig.activations[c.hiddenAct]!
    let activated = b.node(
      "\(p).intermediate.intermediate_act_fn", act.op, [up],
      act.approximate.map { ["approximate": .string($0)] } ?? [:])
    let down = b.linear(
      "\(p).output.dense", activated, weight: try weight("\(p).output.dense", "weight", [h, i]),
      bias: try weight("\(p).output.dense", "bias", [h]))
    let res2 = b.node("\(p).output/residual", "Add", [down, attn])
    return b.layerNorm(
      "\(p).output.LayerNorm", res2, scale: try weight("\(p).output.LayerNorm", "weight", [h]),
      bias: try weight("\(p).output.LayerNorm", "bias", [h]), epsilon: c.layerNormEps)
  }
}

/// Checkpoint tensors by HF module name: adds the prefix, checks the shape against the config,
/// converts to Float32 and remembers them in load order (they become the graph's initializers).
final class BertWeights {
  let prefix: String
  let available: Set<String>
  let source: String
  let fetch: (String) throws -> Tensor
  private(set) var loaded: [(String, Tensor)] = []

  init(prefix: String, available: Set<String>, source: String, fetch: @escaping (String) throws -> Tensor) {
    self.prefix = prefix
    self.available = available
    self.source = source
    self.fetch = fetch
  }

  /// The initializer name of `module.suffix` (e.g. "encoder.layer.0.output.dense", "weight").
  func callAsFunction(_ module: String, _ suffix: String, _ shape: [Int]) throws -> String {
    var name = "\(prefix)\(module).\(suffix)"
    if !available.contains(name), module.hasSuffix("LayerNorm") {  // TF-era checkpoints: gamma/beta
      let legacy = "\(prefix)\(module).\(suffix == "weight" ? "gamma" : "beta")"
      if available.contains(legacy) { name = legacy }
    }
    guard available.contains(name) else {
      throw ModelGraphError.malformed(
        file: source, at: "tensor '\(name)'", expected: "a tensor of shape \(shape)", found: "no such tensor")
    }
    let t = try fetch(name)
    guard t.shape == shape else {
      throw ModelGraphError.malformed(
        file: source, at: "tensor '\(name)'", expected: "shape \(shape) (from config.json)",
        found: "\(t.shape)")
    }
    guard t.dtype.isFloatingPoint else {
      throw ModelGraphError.malformed(
        file: source, at: "tensor '\(name)'", expected: "a floating-point dtype", found: t.dtype.rawValue)
    }
    loaded.append((name, t.converted(to: .float32)))
    return name
  }
}
