import ModelGraph
import TensorCore

/// Saving a trained graph: `.onnx` (the whole graph, through `ModelFile.save`) or `.safetensors`
/// (its initializers under their PyTorch-style names, e.g. `fc1.weight`; masks, if any, as
/// `<name>.mask`).
public enum Checkpoint {
  public static let maskSuffix = ".mask"

  /// Writes `graph` to `path` atomically, in the format its extension names.
  public static func save(_ graph: Graph, to path: String) throws {
    let ext = path.split(separator: ".").last.map { $0.lowercased() } ?? ""
    switch ext {
    case "onnx":
      try ModelFile.save(graph, to: path)
    case "safetensors":
      throw TrainingError.invalidArgument(
        what: path, message: "safetensors checkpoints need ModelGraph's SafeTensorsWriter (not yet on main)")
    default:
      throw TrainingError.invalidArgument(what: path, message: "expected a .onnx or .safetensors file name")
    }
  }
}
