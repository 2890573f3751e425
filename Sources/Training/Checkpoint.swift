import ModelGraph
import TensorCore

/// Saving and restoring trained graphs.
///
/// | extension | save | content |
/// |---|---|---|
/// | `.onnx` | `ModelFile.save` | the whole graph (nodes, weights, input/output); masks are not part of ONNX |
/// | `.safetensors` | `SafeTensorsWriter` | every float initializer under its name (`fc1.weight`, … as a PyTorch `state_dict`), masks as `<name>.mask`, the graph name in `__metadata__` |
///
/// `load(_:into:)` restores a safetensors checkpoint into a graph of the same architecture.
public enum Checkpoint {
  public static let maskSuffix = ".mask"

  /// Writes `graph` to `path` atomically, in the format its extension names.
  public static func save(_ graph: Graph, to path: String) throws {
    switch fileExtension(path) {
    case "onnx":
      try ModelFile.save(graph, to: path)
    case "safetensors":
      var tensors: [String: Tensor] = [:]
      for (name, tensor) in graph.orderedInitializers where tensor.dtype == .float32 {
        tensors[name] = tensor
      }
      for (name, mask) in graph.masks { tensors[name + maskSuffix] = mask.converted(to: .float32) }
      try SafeTensorsWriter.write(
        tensors, metadata: ["format": "prunekit-checkpoint", "graph": graph.name], to: path)
    default:
      throw TrainingError.invalidArgument(what: path, message: "expected a .onnx or .safetensors file name")
    }
  }

  /// `graph` with its float initializers (and masks) replaced by those in the safetensors file at
  /// `path`. Every tensor of the file must name an initializer of the same shape; initializers the
  /// file lacks keep their values.
  public static func load(_ path: String, into graph: Graph) throws -> Graph {
    let file = try SafeTensorsFile(path: path)
    var result = graph
    for name in file.names {
      let tensor = try file.tensor(named: name).converted(to: .float32)
      let target = name.hasSuffix(maskSuffix) ? String(name.dropLast(maskSuffix.count)) : name
      guard let existing = graph.initializers[target] else {
        throw TrainingError.invalidArgument(
          what: "\(path): tensor '\(name)'", message: "graph '\(graph.name)' has no initializer '\(target)'")
      }
      guard existing.shape == tensor.shape else {
        throw TrainingError.shapeMismatch(
          node: "\(path): \(name)", expected: "\(existing.shape)", found: "\(tensor.shape)")
      }
      if name.hasSuffix(maskSuffix) {
        result.masks[target] = tensor
      } else {
        result.setInitializer(name, tensor)
      }
    }
    return result
  }

  static func fileExtension(_ path: String) -> String {
    guard let dot = path.lastIndex(of: "."), !path[dot...].contains("/") else { return "" }
    return path[path.index(after: dot)...].lowercased()
  }
}
