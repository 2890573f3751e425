import ModelGraph
import TensorCore

/// A Linear layer found in a graph: a MatMul or Gemm whose weight is a constant 2-D Float32
/// initializer. `weightIsOutIn`: the weight is stored [out, in] (Gemm transB = 1, nn.Linear's layout);
/// otherwise [in, out] (MatMul B, Gemm transB = 0, the ONNX export's layout).
public struct LinearSite: Sendable, Equatable {
  public var node: String
  public var weight: String
  /// The value the Linear multiplies: [..., in].
  public var input: String
  public var inFeatures: Int
  public var outFeatures: Int
  public var weightIsOutIn: Bool
  /// Position of the node in `graph.nodes`.
  public var nodeIndex: Int
}

/// One transformer encoder layer: its input hidden state and its six Linears
/// (query, key, value, attention output, feed-forward up, feed-forward down).
public struct EncoderLayer: Sendable, Equatable {
  public var index: Int
  /// The hidden state entering the layer (read by query, key and value).
  public var input: String
  public var linears: [LinearSite]
}

/// Finds the encoder layers of a BERT-style graph from its structure, not from names.
///
/// Recognised: a value read by three Linears of equal shape [h, h] starts a layer (query, key, value);
/// the layer holds, in node order before the next such value, exactly three more Linears: the
/// attention output [h → h], the feed-forward up [h → f] and down [f → h]. This is the layout of
/// BERT, RoBERTa, DistilBERT, MiniLM, ELECTRA … exported by torch.onnx / optimum, and of PruneKit's
/// own safetensors + config.json graphs. Fused QKV projections or decoder blocks are not recognised.
public enum EncoderLayers {
  /// The Linears of `graph` in node order.
  public static func linears(in graph: Graph) -> [LinearSite] {
    var sites: [LinearSite] = []
    for (i, node) in graph.nodes.enumerated() where node.domain.isEmpty && node.inputs.count >= 2 {
      guard node.opType == "MatMul" || node.opType == "Gemm",
        let w = graph.initializers[node.inputs[1]], w.rank == 2, w.dtype == .float32,
        graph.initializers[node.inputs[0]] == nil
      else { continue }
      var outIn = false
      if node.opType == "Gemm" {
        if case .int(let t)? = node.attributes["transA"], t != 0 { continue }
        if case .int(let t)? = node.attributes["transB"], t != 0 { outIn = true }
      }
      sites.append(
        LinearSite(
          node: node.name, weight: node.inputs[1], input: node.inputs[0],
          inFeatures: outIn ? w.shape[1] : w.shape[0], outFeatures: outIn ? w.shape[0] : w.shape[1],
          weightIsOutIn: outIn, nodeIndex: i))
    }
    return sites
  }

  /// The encoder layers of `graph`, in order; `PruningError.invalidArgument` saying what was expected
  /// and what was found when none is recognised or a layer's Linears do not fit the pattern.
  public static func find(in graph: Graph) throws -> [EncoderLayer] {
    let sites = linears(in: graph)
    var readers: [String: [LinearSite]] = [:]
    for s in sites { readers[s.input, default: []].append(s) }
    // Layer inputs: values read by ≥ 3 square Linears of one shape, in node order of their first reader.
    let starts = sites.compactMap { s -> String? in
      guard let r = readers[s.input], r.first == s else { return nil }
      let square = r.filter { $0.inFeatures == $0.outFeatures && $0.inFeatures == s.inFeatures }
      return square.count >= 3 ? s.input : nil
    }
    guard !starts.isEmpty else {
      throw PruningError.invalidArgument(
        what: "encoder layers",
        expected: "BERT-style layers: a hidden state read by three [h, h] Linears (query, key, value), then "
          + "attention output [h→h], feed-forward up [h→f] and down [f→h] (MatMul/Gemm with constant weights)",
        found: sites.isEmpty
          ? "no Linear layers (MatMul/Gemm with a constant 2-D Float32 weight)"
          : "\(sites.count) Linears, none sharing its input with two more of equal square shape")
    }
    var layers: [EncoderLayer] = []
    for (i, start) in starts.enumerated() {
      let first = readers[start]!.first!.nodeIndex
      let end = i + 1 < starts.count ? readers[starts[i + 1]]!.first!.nodeIndex : graph.nodes.count
      let inside = sites.filter { $0.nodeIndex >= first && $0.nodeIndex < end }
      let qkv = inside.filter { $0.input == start }.prefix(3)
      let rest = inside.filter { $0.input != start }
      let h = qkv.first!.inFeatures
      let ok =
        qkv.count == 3 && rest.count == 3 && rest[0].inFeatures == h && rest[0].outFeatures == h
        && rest[1].inFeatures == h && rest[2].inFeatures == rest[1].outFeatures && rest[2].outFeatures == h
      guard ok, inside.count == 6 else {
        let shapes = inside.map { "\($0.node) [\($0.inFeatures)→\($0.outFeatures)]" }
        throw PruningError.invalidArgument(
          what: "encoder layer \(i) (input '\(start)')",
          expected: "6 Linears: query, key, value [h→h], attention output [h→h], up [h→f], down [f→h]",
          found: "\(inside.count): \(shapes.prefix(8).joined(separator: ", "))")
      }
      layers.append(EncoderLayer(index: i, input: start, linears: Array(qkv) + rest))
    }
    var seen: [String: String] = [:]
    for site in layers.flatMap(\.linears) {
      if let other = seen[site.weight] {
        throw PruningError.unsupportedParameter(
          name: site.weight, expected: "a weight used by one Linear",
          found: "shared by '\(other)' and '\(site.node)' (untie it before one-shot pruning)")
      }
      seen[site.weight] = site.node
    }
    return layers
  }
}
