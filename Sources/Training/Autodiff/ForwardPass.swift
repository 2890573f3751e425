import ModelGraph
import Runtime
import TensorCore

/// Training or evaluation mode of a forward pass.
public struct ForwardContext: Sendable {
  /// Training mode: BatchNormalization uses batch statistics and updates its running statistics,
  /// Dropout drops. Evaluation mode: running statistics, Dropout is the identity.
  public var training: Bool
  /// Seeds Dropout's masks (with each node's position).
  public var seed: UInt64
  /// Whether `backward` also returns dLoss/dInput for the float graph inputs. Training, which needs
  /// only the parameters' gradients, turns it off and skips the first layer's input gradient.
  public var inputGradients: Bool

  public init(training: Bool, seed: UInt64 = 0, inputGradients: Bool = true) {
    self.training = training
    self.seed = seed
    self.inputGradients = inputGradients
  }
}

/// A graph prepared for training: its trainable initializers become graph inputs of an unfused
/// `Executor` (nothing folded or pre-packed across a weight), so every step runs the executor's own
/// kernels with the current weights and records a `Tape` for the backward rules of `Runtime`.
///
/// Construction fails, naming the node and op type, when an op between the parameters (or the
/// float inputs) and the outputs has no backward rule.
public final class DifferentiableGraph: Sendable {
  public let graph: Graph
  /// The parameters that receive gradients, in initializer order.
  public let parameterNames: [String]
  /// Float32 graph inputs (gradients are available for them too).
  public let floatInputs: [String]
  /// Initializers that training updates without gradients (BatchNormalization running statistics);
  /// also graph inputs of the executor, so a run takes their current values.
  public let stateNames: [String]
  let executor: Executor

  public init(graph: Graph, parameters names: [String]? = nil) throws {
    self.graph = graph
    let parameterNames = names ?? graph.trainableParameterNames()
    self.parameterNames = parameterNames
    var state: [String] = []
    for node in graph.nodes where node.opType == "BatchNormalization" && node.inputs.count >= 5 {
      state += node.inputs[3...4].filter { graph.initializers[$0] != nil && !parameterNames.contains($0) }
    }
    stateNames = state
    floatInputs = graph.inputs.filter { $0.dtype == .float32 && graph.initializers[$0.name] == nil }.map(\.name)
    do {
      executor = try Executor(graph: graph.makingInputs(parameterNames + state), optimize: false)
      try executor.checkDifferentiable(Set(parameterNames + floatInputs))
    } catch let error as ModelGraphError {
      throw TrainingError.graph(error.description)
    }
  }

  /// Runs the graph on `inputs` with `parameters` (parameters and state by name; missing ones: the
  /// graph's initializers) and records the tape.
  public func forward(
    _ inputs: [String: Tensor], parameters: [String: Tensor] = [:], context: ForwardContext
  ) throws -> ForwardPass {
    var feed = inputs
    for name in parameterNames + stateNames { feed[name] = parameters[name] ?? graph.initializers[name] }
    let wrt = Set(parameterNames + (context.inputGradients ? floatInputs : []))
    do {
      let tape = try executor.record(feed, differentiating: wrt, training: context.training, seed: context.seed)
      return ForwardPass(tape: tape, wrt: wrt)
    } catch let error as ModelGraphError {
      throw TrainingError.graph(error.description)
    }
  }
}

/// One recorded forward pass: every value by name, and `backward(seeds:)` for the gradients of a
/// scalar loss with respect to the parameters and float inputs.
public struct ForwardPass {
  let tape: Tape
  let wrt: Set<String>

  init(tape: Tape, wrt: Set<String>) {
    self.tape = tape
    self.wrt = wrt
  }

  /// Runs `graph` once (building a `DifferentiableGraph` for it; loops should keep one). Inputs not
  /// declared by the graph are added as graph inputs (single-op test graphs).
  public init(
    graph: Graph, inputs: [String: Tensor], parameters: [String: Tensor] = [:], context: inout ForwardContext
  ) throws {
    var g = graph
    for (name, t) in inputs.sorted(by: { $0.key < $1.key })
    where !g.inputs.contains(where: { $0.name == name }) && g.initializers[name] == nil {
      g.inputs.append(ValueInfo(name: name, dtype: t.dtype, shape: nil))
    }
    self = try DifferentiableGraph(graph: g).forward(inputs, parameters: parameters, context: context)
  }

  /// New BatchNormalization running statistics (training mode), by initializer name.
  public var stateUpdates: [String: Tensor] { tape.stateUpdates }

  public func value(_ name: String) -> Tensor? { tape.value(name) }

  /// Reverse-mode sweep. `seeds` holds dLoss/dValue for the values the loss reads (e.g. the logits).
  /// Returns dLoss/dValue for the parameters and (unless the context turned `inputGradients` off) the
  /// float inputs the loss reaches.
  public func backward(seeds: [String: Tensor]) throws -> [String: Tensor] {
    do {
      return try tape.backward(seeds: seeds, wrt: wrt)
    } catch let error as ModelGraphError {
      throw TrainingError.graph(error.description)
    }
  }
}

extension Graph {
  /// The initializers that receive a gradient: float32 tensors of more than one element read by an
  /// op with a backward rule at a differentiable input position (weights, biases, norm scales and
  /// shifts — not running statistics, shapes, indices, nor the scalar constants an ONNX export
  /// folds into initializers: GELU's √2, the attention scale, the mask's fill value).
  public func trainableParameterNames() -> [String] {
    var names = Set<String>()
    for node in nodes {
      guard let rule = BackwardRegistry.standard[OpKey(node.opType, domain: node.domain)], rule.backward != nil
      else { continue }
      for (i, name) in node.inputs.enumerated() where !rule.nonDifferentiableInputs.contains(i) {
        if let t = initializers[name], t.dtype == .float32, t.count > 1 { names.insert(name) }
      }
    }
    return initializerOrder.filter { names.contains($0) }
  }
}
