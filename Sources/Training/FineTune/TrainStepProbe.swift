import Foundation
import ModelGraph
import TensorCore

/// One training step of a graph with a fixed loss, for timing against a peer framework:
/// L = Σ_i R_i·y_i over the first output, R_i = sin(0.37·i + 0.1) (a formula both sides compute),
/// then AdamW (lr 1e-5, weight decay 0.01) on every trainable weight.
public final class TrainStepProbe {
  public let model: DifferentiableGraph
  public private(set) var parameters: ParameterSet
  var optimizer = Adam.adamW(learningRate: 1e-5, weightDecay: 0.01)

  public init(graph: Graph) throws {
    parameters = try ParameterSet(graph: graph)
    model = try DifferentiableGraph(graph: graph, parameters: parameters.names)
  }

  /// Forward, backward and update; returns the loss (before the update).
  @discardableResult
  public func step(_ inputs: [String: Tensor]) throws -> Double {
    let pass = try model.forward(inputs, parameters: parameters.tensors(), context: ForwardContext(training: true))
    let name = model.graph.outputs[0].name
    guard let y = pass.value(name) else { throw TrainingError.missingValue(node: "graph output", name: name) }
    let r = (0..<y.count).map { Float(sin(0.37 * Double($0) + 0.1)) }
    let loss = zip(y.floats, r).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    let grads = try pass.backward(seeds: [name: Tensor(shape: y.shape, floats: r)])
    let gradients = parameters.names.enumerated().map { i, n in
      grads[n]?.floats ?? [Float](repeating: 0, count: parameters.values[i].count)
    }
    optimizer.update(&parameters, gradients: gradients, learningRate: optimizer.learningRate)
    return loss
  }
}
