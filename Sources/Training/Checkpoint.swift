import ModelGraph
import TensorCore

/// Saving and restoring trained graphs.
///
/// | extension | save | content |
/// |---|---|---|
/// | `.onnx` | `ModelFile.save` | the whole graph (nodes, weights, input/output); masks are not part of ONNX |
/// | `.safetensors` | `SafeTensorsGraph.write` | every initializer under its name (`fc1.weight`, … as a PyTorch `state_dict`), the graph in `__metadata__`; masks implied by the zeros of the masked weights (never stored as tensors) |
///
/// `load(_:into:)` restores a safetensors checkpoint into a graph of the same architecture (also the
/// older form with masks as `<name>.mask` tensors).
public enum Checkpoint {
  public static let maskSuffix = ".mask"

  /// Writes `graph` to `path` atomically, in the format its extension names.
  public static func save(_ graph: Graph, to path: String) throws {
    switch fileExtension(path) {
    case "onnx":
      try ModelFile.save(graph, to: path)
    case "safetensors":
      // Masks are implied by zeros: a masked weight is written as 0 where its mask is 0.
      var masked = graph
      for (name, mask) in graph.masks {
        guard let weight = graph.initializers[name], weight.dtype == .float32, weight.count == mask.count else {
          continue
        }
        let keep = mask.converted(to: .float32).floats
        masked.initializers[name] = Tensor(
          shape: weight.shape, floats: zip(weight.floats, keep).map { $1 != 0 ? $0 : 0 })
      }
      try SafeTensorsGraph.write(masked, to: path)
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
    let stored = SafeTensorsGraph.carriesGraph(file) ? try SafeTensorsGraph.read(file) : nil
    if let stored { result.masks = stored.masks }
    for name in file.names {
      let raw = try file.tensor(named: name)
      let tensor = raw.converted(to: graph.initializers[name]?.dtype ?? .float32)
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
