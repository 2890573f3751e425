import ModelGraph
import TensorCore

/// What one op's forward produced: its outputs and, side by side, its backward step.
///
/// `backward` maps the gradients of the outputs (nil = that output does not reach the loss) to the
/// gradients of the node's inputs, one per input (nil = not differentiable or not needed), each with
/// exactly the input's shape.
public struct OpStep {
  public var outputs: [Tensor]
  public var backward: ([Tensor?]) throws -> [Tensor?]

  public init(outputs: [Tensor], backward: @escaping ([Tensor?]) throws -> [Tensor?]) {
    self.outputs = outputs
    self.backward = backward
  }
}

/// State shared by the ops of one forward pass.
public struct ForwardContext {
  /// Training mode: BatchNormalization uses batch statistics and updates its running statistics,
  /// Dropout drops. Evaluation mode: running statistics, Dropout is the identity.
  public var training: Bool
  /// Dropout's random numbers.
  public var rng: SeededGenerator
  /// New values of non-trained state (BatchNormalization running mean/variance), by initializer name.
  public var stateUpdates: [String: Tensor] = [:]

  public init(training: Bool, seed: UInt64 = 0) {
    self.training = training
    self.rng = SeededGenerator(seed: seed)
  }
}

/// A differentiable op: its forward (which returns the backward step), and the inputs that never
/// get a gradient (running statistics, shapes, ratios).
public struct DifferentiableOp: Sendable {
  public typealias Forward = @Sendable (Node, [Tensor?], inout ForwardContext) throws -> OpStep
  public var forward: Forward
  public var nonDifferentiableInputs: Set<Int>

  public init(nonDifferentiableInputs: Set<Int> = [], forward: @escaping Forward) {
    self.forward = forward
    self.nonDifferentiableInputs = nonDifferentiableInputs
  }
}

/// The ops with gradients, by ONNX op type (default domain). One file per op family in Ops/.
public enum DifferentiableOps {
  public static let table: [String: DifferentiableOp] = [
    "Gemm": gemmOp, "MatMul": matMulOp,
    "Conv": convOp,
    "BatchNormalization": batchNormOp,
    "Relu": reluOp, "Gelu": geluOp,
    "MaxPool": maxPoolOp, "AveragePool": averagePoolOp, "GlobalAveragePool": globalAveragePoolOp,
    "Flatten": flattenOp, "Reshape": reshapeOp, "Identity": identityOp, "Concat": concatOp,
    "Add": addOp, "Sub": subOp, "Mul": mulOp, "Div": divOp, "Erf": erfOp, "Constant": constantOp,
    "Dropout": dropoutOp,
    "LayerNormalization": layerNormOp, "Softmax": softmaxOp,
  ]

  public static func op(for node: Node) throws -> DifferentiableOp {
    guard node.domain.isEmpty || node.domain == "ai.onnx", let op = table[node.opType] else {
      throw TrainingError.unsupportedOp(node: node.name, opType: node.opType)
    }
    return op
  }
}
