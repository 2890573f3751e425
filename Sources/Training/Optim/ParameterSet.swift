import ModelGraph
import TensorCore

/// The trainable parameters of a graph as plain Float32 arrays (updated in place by optimizers),
/// with their pruning masks from `graph.masks` (1 = kept, 0 = pruned).
public struct ParameterSet: Sendable {
  public var names: [String]
  public var shapes: [[Int]]
  public var values: [[Float]]
  /// nil = unmasked. A masked entry (mask == 0) holds exactly 0 in the weight, its gradient and
  /// every optimizer state after each step.
  public var masks: [[Float]?]

  /// The graph's trainable parameters (`Graph.trainableParameterNames`), or `names` if given.
  /// Masked entries are zeroed at once. Throws if a mask's shape differs from its weight's.
  public init(graph: Graph, names: [String]? = nil) throws {
    self.names = names ?? graph.trainableParameterNames()
    shapes = []
    values = []
    masks = []
    for name in self.names {
      guard let t = graph.initializers[name], t.dtype == .float32 else {
        throw TrainingError.invalidArgument(what: "parameter '\(name)'", message: "no float32 initializer")
      }
      shapes.append(t.shape)
      values.append(t.floats)
      if let mask = graph.masks[name] {
        guard mask.shape == t.shape else {
          throw TrainingError.invalidArgument(
            what: "mask of '\(name)'", message: "shape \(mask.shape) differs from the weight's \(t.shape)")
        }
        masks.append(mask.asFloats())
      } else {
        masks.append(nil)
      }
    }
    applyMasks()
  }

  public var count: Int { names.count }
  /// Number of scalar parameters.
  public var scalarCount: Int { values.reduce(0) { $0 + $1.count } }

  public func index(of name: String) -> Int? { names.firstIndex(of: name) }

  /// The parameters as tensors (sharing storage until either side is written).
  public func tensors() -> [String: Tensor] {
    var result: [String: Tensor] = [:]
    for i in 0..<count { result[names[i]] = Tensor(shape: shapes[i], floats: values[i]) }
    return result
  }

  /// Sets every masked entry of every parameter to 0.
  public mutating func applyMasks() {
    for i in 0..<count {
      guard let mask = masks[i] else { continue }
      values[i].withUnsafeMutableBufferPointer { w in
        for j in 0..<w.count where mask[j] == 0 { w[j] = 0 }
      }
    }
  }

  /// Writes the values back into `graph.initializers`.
  public func write(into graph: inout Graph) {
    for i in 0..<count { graph.setInitializer(names[i], Tensor(shape: shapes[i], floats: values[i])) }
  }
}
