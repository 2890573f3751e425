import ModelGraph
import TensorCore

/// A forward pass over a `Graph` that remembers each node's backward step (a tape), so that
/// `backward(seeds:)` returns the gradient of a scalar loss with respect to every value: graph
/// inputs, initializers (parameters) and intermediate values.
public struct ForwardPass {
  /// Every value computed or read, by name.
  public private(set) var values: [String: Tensor]
  /// New BatchNormalization running statistics (training mode), by initializer name.
  public private(set) var stateUpdates: [String: Tensor]
  private var steps: [(node: Node, step: OpStep)] = []

  /// Runs `graph` on `inputs`. `parameters` override the graph's initializers of the same name
  /// (the trainer's current weights). Throws on an op without gradient or a missing value.
  public init(
    graph: Graph, inputs: [String: Tensor], parameters: [String: Tensor] = [:],
    context: inout ForwardContext
  ) throws {
    var values = inputs
    for node in graph.nodes {
      let op = try DifferentiableOps.op(for: node)
      var nodeInputs: [Tensor?] = []
      for name in node.inputs {
        if name.isEmpty {
          nodeInputs.append(nil)
        } else if let v = values[name] ?? parameters[name] ?? graph.initializers[name] {
          nodeInputs.append(v)
        } else {
          throw TrainingError.missingValue(node: node.name, name: name)
        }
      }
      let step = try op.forward(node, nodeInputs, &context)
      for (name, value) in zip(node.outputs, step.outputs) where !name.isEmpty { values[name] = value }
      steps.append((node, step))
    }
    self.values = values
    self.stateUpdates = context.stateUpdates
  }

  public func value(_ name: String) -> Tensor? { values[name] }

  /// Reverse-mode sweep. `seeds` holds dLoss/dValue for the values the loss reads (e.g. the logits).
  /// Returns dLoss/dValue for every value reached, summed over all its uses.
  public func backward(seeds: [String: Tensor]) throws -> [String: Tensor] {
    var grads = seeds
    for (node, step) in steps.reversed() {
      let outputGrads = node.outputs.map { $0.isEmpty ? nil : grads[$0] }
      if outputGrads.allSatisfy({ $0 == nil }) { continue }
      let inputGrads = try step.backward(outputGrads)
      for (name, grad) in zip(node.inputs, inputGrads) where !name.isEmpty {
        guard let grad else { continue }
        if let existing = grads[name] {
          grads[name] = accumulate(existing, grad)
        } else {
          grads[name] = grad
        }
      }
    }
    return grads
  }
}

/// a + b, same shape (gradients of a value used twice).
func accumulate(_ a: Tensor, _ b: Tensor) -> Tensor {
  precondition(a.shape == b.shape, "gradient accumulation: \(a.shape) vs \(b.shape)")
  var sum = a.floats
  let other = b.floats
  sum.withUnsafeMutableBufferPointer { s in
    other.withUnsafeBufferPointer { o in
      for i in 0..<s.count { s[i] += o[i] }
    }
  }
  return Tensor(shape: a.shape, floats: sum)
}

extension Graph {
  /// The initializers that receive a gradient: float32 tensors read by some op at a differentiable
  /// input position (weights, biases, BN/LN scale and shift — not running statistics or shapes).
  public func trainableParameterNames() -> [String] {
    var names = Set<String>()
    for node in nodes {
      guard let op = DifferentiableOps.table[node.opType] else { continue }
      for (i, name) in node.inputs.enumerated() where !op.nonDifferentiableInputs.contains(i) {
        if let t = initializers[name], t.dtype == .float32 { names.insert(name) }
      }
    }
    return initializerOrder.filter { names.contains($0) }
  }
}
