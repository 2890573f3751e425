import ModelGraph
import TensorCore

/// Masks for fine-tuning a pruned model that carries none (an ONNX file stores only the zeros).
public enum FineTuneMasks {
  /// Gives each trainable weight of rank ≥ 2 that holds exact zeros and has no mask the mask of
  /// its non-zeros, so fine-tuning keeps the pruned entries at zero (a dense trained weight has no
  /// exact zeros; biases and norms are left free). Returns the number of entries held at zero
  /// under all masks.
  @discardableResult
  public static func holdZeros(_ graph: inout Graph) -> Int {
    for name in graph.trainableParameterNames() where graph.masks[name] == nil {
      guard let w = graph.initializers[name], w.rank >= 2, w.dtype == .float32 else { continue }
      let values = w.floats
      guard values.contains(0) else { continue }
      graph.masks[name] = Tensor(shape: w.shape, floats: values.map { $0 != 0 ? 1 : 0 })
    }
    return graph.masks.values.reduce(0) { total, mask in total + mask.asFloats().filter { $0 == 0 }.count }
  }
}
