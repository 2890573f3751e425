import ModelGraph
import TensorCore

/// What a backward rule sees: the forward's context (node, opset, input tensors, attribute readers),
/// the outputs the forward produced, anything a training-mode forward saved, and the gradients of
/// the outputs (nil = that output does not reach the loss).
public struct BackwardContext {
  public var forward: OpContext
  public var outputs: [Tensor]
  public var saved: [Tensor]
  public var outputGrads: [Tensor?]
  /// Which inputs need a gradient (rules may skip the others; returning one anyway is harmless).
  public var needsGrad: [Bool]

  public var node: Node { forward.node }

  /// dLoss/dOutput `index`, zeros shaped like the output when it does not reach the loss.
  public func outputGrad(_ index: Int = 0) -> Tensor {
    if index < outputGrads.count, let g = outputGrads[index] { return g }
    return Tensor.zeros(outputs[index].shape)
  }

  public func needs(_ index: Int) -> Bool { index < needsGrad.count && needsGrad[index] }
}

/// What a training-mode forward returns: its outputs, what its backward needs beyond inputs and
/// outputs, and new values of non-trained state inputs (BatchNorm running statistics) by input index.
public struct TrainingForward {
  public var outputs: [Tensor]
  public var saved: [Tensor] = []
  public var stateUpdates: [Int: Tensor] = [:]

  public init(outputs: [Tensor], saved: [Tensor] = [], stateUpdates: [Int: Tensor] = [:]) {
    self.outputs = outputs
    self.saved = saved
    self.stateUpdates = stateUpdates
  }
}

/// The backward of one op type, registered beside its forward family.
///
/// `backward` maps a `BackwardContext` to one gradient per input (nil = none), each with exactly the
/// input's shape. `nil` backward marks the op as not differentiable (Shape, Equal, Range, …): no
/// gradient flows through it, and training through it is allowed. `trainingForward` replaces the
/// executor's kernel in training mode where the two differ (BatchNorm batch statistics, Dropout).
public struct BackwardRule: Sendable {
  public typealias Backward = @Sendable (BackwardContext) throws -> [Tensor?]
  public typealias Forward = @Sendable (inout OpContext, _ seed: UInt64) throws -> TrainingForward

  public var backward: Backward?
  public var nonDifferentiableInputs: Set<Int>
  public var trainingForward: Forward?

  public init(
    nonDifferentiableInputs: Set<Int> = [], trainingForward: Forward? = nil, _ backward: Backward?
  ) {
    self.backward = backward
    self.nonDifferentiableInputs = nonDifferentiableInputs
    self.trainingForward = trainingForward
  }

  /// An op through which no gradient flows.
  public static let nonDifferentiable = BackwardRule(nil)
}

/// The table of backward rules, keyed like `OpRegistry` (one file per op family registers here).
public enum BackwardRegistry {
  public static let standard: [OpKey: BackwardRule] = {
    var table: [OpKey: BackwardRule] = [:]
    ElementwiseBackward.register(into: &table)
    ActivationBackward.register(into: &table)
    LinearBackward.register(into: &table)
    ConvBackward.register(into: &table)
    PoolBackward.register(into: &table)
    NormBackward.register(into: &table)
    MovementBackward.register(into: &table)
    ReduceBackward.register(into: &table)
    ResizeBackward.register(into: &table)
    for op in [
      "Shape", "Size", "Range", "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "Not", "And",
      "Or", "Xor", "ConstantOfShape", "Constant", "NonZero", "ArgMax", "ArgMin", "IsNaN", "IsInf", "Sign",
      "Floor", "Ceil", "Round", "EyeLike", "RandomNormal", "RandomUniform", "RandomNormalLike",
      "RandomUniformLike", "Bernoulli", "OneHot", "Mod",
    ] {
      table[OpKey(op)] = .nonDifferentiable
    }
    return table
  }()

  /// The rule for `node`; throws naming the node and op type when there is none.
  public static func rule(for node: Node) throws -> BackwardRule {
    guard let rule = standard[OpKey(node.opType, domain: node.domain)] else {
      throw ModelGraphError.invalidModel(
        "node '\(node.name)' (\(node.opType)) has no backward rule: PruneKit cannot train through it "
          + "(differentiable ops: \(differentiableOpTypes.joined(separator: ", ")))")
    }
    return rule
  }

  /// Op types with a gradient, sorted.
  public static var differentiableOpTypes: [String] {
    standard.filter { $0.value.backward != nil }.keys.map(\.description).sorted()
  }
}

// MARK: helpers shared by the rule files

/// Sums a gradient of a broadcast result back to the shape of the operand that was broadcast
/// (numpy rules: leading axes added, axes of size 1 stretched).
func sumToShape(_ grad: Tensor, _ shape: [Int]) throws -> Tensor {
  if grad.shape == shape { return grad }
  let lead = grad.rank - shape.count
  var axes = Array(0..<lead)
  for (i, n) in shape.enumerated() where n == 1 && grad.shape[lead + i] != 1 { axes.append(lead + i) }
  let summed = axes.isEmpty ? grad : try grad.reduceSum(axes: axes, keepDims: true)
  return try summed.reshaped(shape)
}

/// a + b elementwise (same shape), accumulating gradients of a value read twice.
func accumulated(_ a: Tensor, _ b: Tensor) -> Tensor {
  precondition(a.shape == b.shape, "gradient accumulation: \(a.shape) vs \(b.shape)")
  var sum = a.floats
  b.floats.withUnsafeBufferPointer { o in
    sum.withUnsafeMutableBufferPointer { s in for i in 0..<s.count { s[i] += o[i] } }
  }
  return Tensor(shape: a.shape, floats: sum)
}

/// f(x[i], dy[i]) for same-shape tensors (the derivative of an elementwise op times dy).
func zipped(_ x: Tensor, _ dy: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
  precondition(x.count == dy.count, "elementwise backward: \(x.shape) vs \(dy.shape)")
  let xs = x.floats, gs = dy.floats
  var out = [Float](repeating: 0, count: xs.count)
  xs.withUnsafeBufferPointer { xp in
    gs.withUnsafeBufferPointer { gp in
      out.withUnsafeMutableBufferPointer { o in for i in 0..<o.count { o[i] = f(xp[i], gp[i]) } }
    }
  }
  return Tensor(shape: x.shape, floats: out)
}

/// f(a[i], b[i], dy[i]) for same-shape tensors.
func zipped3(_ a: Tensor, _ b: Tensor, _ dy: Tensor, _ f: (Float, Float, Float) -> Float) -> Tensor {
  let x = a.floats, y = b.floats, g = dy.floats
  precondition(x.count == g.count && y.count == g.count, "elementwise backward: \(a.shape), \(b.shape), \(dy.shape)")
  var out = [Float](repeating: 0, count: g.count)
  for i in 0..<g.count { out[i] = f(x[i], y[i], g[i]) }
  return Tensor(shape: dy.shape, floats: out)
}
