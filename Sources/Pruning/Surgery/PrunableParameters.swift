import ModelGraph
import TensorCore

/// Which initializers unstructured pruning may touch.
///
/// By default: the weights of Conv, ConvTranspose, Gemm and MatMul (the operand that is an
/// initializer of rank ≥ 2), never biases or normalisation parameters. `include`/`exclude` adjust it.
public struct PrunableSelection: Sendable, Equatable {
  /// Op types whose weight operand is prunable.
  public var opTypes: Set<String>
  /// Extra initializer names to prune (any float tensor).
  public var include: Set<String>
  /// Initializer names never to prune (wins over everything else).
  public var exclude: Set<String>

  public init(
    opTypes: Set<String> = ["Conv", "ConvTranspose", "Gemm", "MatMul"], include: Set<String> = [],
    exclude: Set<String> = []
  ) {
    self.opTypes = opTypes
    self.include = include
    self.exclude = exclude
  }

  public static let `default` = PrunableSelection()

  /// Prunable parameter names of `graph`, in initializer declaration order.
  public func parameters(in graph: Graph) -> [String] {
    var chosen = Set<String>(include)
    for node in graph.nodes where opTypes.contains(node.opType) {
      for name in Self.weightInputs(of: node) {
        if let tensor = graph.initializers[name], tensor.dtype == .float32, tensor.rank >= 2 {
          chosen.insert(name)
        }
      }
    }
    chosen.subtract(exclude)
    return graph.initializerOrder.filter {
      chosen.contains($0) && graph.initializers[$0]?.dtype == .float32
    }
  }

  /// The inputs of `node` that hold its weight (not the bias): Conv/Gemm input 1, MatMul either.
  static func weightInputs(of node: Node) -> [String] {
    switch node.opType {
    case "MatMul": return node.inputs.prefix(2).filter { !$0.isEmpty }
    default: return node.inputs.count > 1 ? [node.inputs[1]] : []
    }
  }
}
