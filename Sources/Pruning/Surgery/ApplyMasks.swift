import ModelGraph
import TensorCore

extension Graph {
  /// Zeroes every weight element whose mask entry is 0. Masks whose shape does not match their
  /// initializer are a broken contract (`PruningError.unsupportedParameter`).
  public mutating func applyMasks() throws {
    for (name, mask) in masks {
      guard var w = initializers[name] else { throw PruningError.missingParameter(name: name) }
      guard w.shape == mask.shape, w.dtype == .float32 else {
        throw PruningError.unsupportedParameter(
          name: name, expected: "float32 of the mask's shape \(mask.shape)", found: "\(w.shape)")
      }
      var values = w.floats
      let m = mask.floats
      for i in 0..<values.count where m[i] == 0 { values[i] = 0 }
      w.floats = values
      initializers[name] = w
    }
  }

  /// Stores `newMasks` (replacing masks of the same names) and zeroes the pruned weights.
  public mutating func setMasks(_ newMasks: [String: Tensor]) throws {
    for (name, mask) in newMasks { masks[name] = mask }
    try applyMasks()
  }

  /// Fraction of zero elements over `parameters` (all masked parameters when nil).
  public func sparsity(of parameters: [String]? = nil) -> Double {
    let names = parameters ?? Array(masks.keys)
    var zeros = 0
    var total = 0
    for name in names {
      guard let t = initializers[name], t.dtype == .float32 else { continue }
      zeros += t.floats.reduce(0) { $0 + ($1 == 0 ? 1 : 0) }
      total += t.count
    }
    return total == 0 ? 0 : Double(zeros) / Double(total)
  }

  /// Kept (non-zero) fraction per parameter.
  public func keptFractions(of parameters: [String]) -> [String: Double] {
    var result: [String: Double] = [:]
    for name in parameters {
      guard let t = initializers[name], t.dtype == .float32, t.count > 0 else { continue }
      result[name] = Double(t.floats.reduce(0) { $0 + ($1 != 0 ? 1 : 0) }) / Double(t.count)
    }
    return result
  }
}

/// One-shot unstructured pruning in one call: masks by `builder` at `sparsity` over the
/// `selection`'s parameters, stored in `graph.masks` and applied.
public func pruneUnstructured(
  _ graph: inout Graph, builder: MaskBuilder, sparsity: Double, selection: PrunableSelection = .default
) throws {
  let parameters = selection.parameters(in: graph)
  try graph.setMasks(builder.masks(for: graph, parameters: parameters, sparsity: sparsity))
}
