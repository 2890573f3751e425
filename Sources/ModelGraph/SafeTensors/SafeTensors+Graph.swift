import Foundation
import TensorCore

/// A safetensors file that carries its graph, so that every model PruneKit writes as `.safetensors`
/// reads back, BERT or not, with or without a `config.json` beside it.
///
/// | `__metadata__` key | value |
/// |---|---|
/// | `format` | `pt` (what transformers expects of a PyTorch checkpoint; tensors keep their own names) |
/// | `prunekit.graph` | base64 of the ONNX `ModelProto` of the graph *without* its initializers' data: each becomes a graph input of its dtype and shape, after the model's own inputs |
/// | `prunekit.inputs` | how many of the ModelProto's inputs are the model's own |
/// | `prunekit.initializers` | JSON array of the initializer names in graph order |
/// | `prunekit.masks` | JSON array of the masked weights: their masks are implied by zeros (mask = weight ≠ 0), never stored |
///
/// The weights are ordinary tensors under their names, so a PyTorch `load_state_dict` or a Hugging
/// Face loader reads the file as it reads any checkpoint; the metadata only adds what PruneKit needs.
public enum SafeTensorsGraph {
  public static let graphKey = "prunekit.graph"
  public static let initializersKey = "prunekit.initializers"
  public static let masksKey = "prunekit.masks"
  public static let inputsKey = "prunekit.inputs"

  /// Writes `graph` (initializers as tensors, structure in the metadata) to `path` atomically.
  /// Masked weights must hold zeros where their mask is 0 (`Graph.applyMasks` does that): the masks
  /// themselves are not written.
  public static func write(_ graph: Graph, to path: String) throws {
    // The structure alone: each initializer stands as a typed, shaped graph input (ONNX allows a
    // node to read an input; the values live in the tensors).
    var structure = graph
    let order = graph.orderedInitializers.map(\.name)
    let declared = Set(graph.inputs.map(\.name))
    for (name, tensor) in graph.orderedInitializers where !declared.contains(name) {
      structure.inputs.append(ValueInfo(name: name, dtype: tensor.dtype, shape: tensor.shape.map { .fixed($0) }))
    }
    structure.initializers = [:]
    structure.initializerOrder = []
    structure.masks = [:]
    let onnx = try ONNXExporter.serialized(structure)
    var metadata = [
      "format": "pt",
      graphKey: onnx.base64EncodedString(),
      initializersKey: try jsonArray(order),
      inputsKey: String(graph.inputs.count),
    ]
    let masked = graph.masks.keys.filter { graph.initializers[$0] != nil }.sorted()
    if !masked.isEmpty { metadata[masksKey] = try jsonArray(masked) }
    try SafeTensorsWriter.write(graph.initializers, metadata: metadata, to: path)
  }

  /// True when the file at `path` carries a PruneKit graph.
  public static func carriesGraph(_ file: SafeTensorsFile) -> Bool { file.metadata[graphKey] != nil }

  /// The graph stored by `write`: structure from the metadata, weights from the tensors, masks from
  /// the zeros of the weights named in `prunekit.masks`.
  public static func read(_ file: SafeTensorsFile) throws -> Graph {
    let path = file.path
    guard let text = file.metadata[graphKey], let onnx = Data(base64Encoded: text) else {
      throw ModelGraphError.malformed(
        file: path, at: "__metadata__.\(graphKey)", expected: "base64 of an ONNX ModelProto",
        found: file.metadata[graphKey] == nil ? "no such key" : "text that is not base64")
    }
    var graph = try ONNXImporter.decode(onnx, file: "\(path) (__metadata__.\(graphKey))")
    if let text = file.metadata[inputsKey] {
      guard let count = Int(text), (0...graph.inputs.count).contains(count) else {
        throw ModelGraphError.malformed(
          file: path, at: "__metadata__.\(inputsKey)", expected: "a count of at most \(graph.inputs.count) inputs",
          found: String(text.prefix(20)))
      }
      graph.inputs = Array(graph.inputs.prefix(count))
    }
    let order = try names(file, initializersKey) ?? file.names
    for name in order {
      guard file.contains(name) else {
        throw ModelGraphError.malformed(
          file: path, at: "tensor '\(name)'", expected: "every initializer the graph lists",
          found: "no such tensor")
      }
      graph.initializers[name] = try file.tensor(named: name)
    }
    // Constants the ONNX import folded into initializers keep their place after the stored ones.
    graph.initializerOrder = order + graph.initializerOrder.filter { !Set(order).contains($0) }
    for name in try names(file, masksKey) ?? [] {
      guard let weight = graph.initializers[name], weight.dtype == .float32 else {
        throw ModelGraphError.malformed(
          file: path, at: "__metadata__.\(masksKey)", expected: "names of Float32 weights",
          found: "'\(name)'")
      }
      graph.masks[name] = Tensor(shape: weight.shape, floats: weight.floats.map { $0 != 0 ? 1 : 0 })
    }
    graph.metadata["source"] = path
    return graph
  }

  private static func jsonArray(_ names: [String]) throws -> String {
    String(decoding: try JSONSerialization.data(withJSONObject: names), as: UTF8.self)
  }

  private static func names(_ file: SafeTensorsFile, _ key: String) throws -> [String]? {
    guard let text = file.metadata[key] else { return nil }
    guard let names = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String] else {
      throw ModelGraphError.malformed(
        file: file.path, at: "__metadata__.\(key)", expected: "a JSON array of tensor names",
        found: String(text.prefix(40)))
    }
    return names
  }
}
