import ModelGraph
import TensorCore

#if canImport(Glibc)
  import Glibc
#endif

/// An optimizer updates every parameter in place from its gradient. Implementations keep masked
/// entries (mask == 0) of weights, gradients and state exactly zero.
public protocol Optimizer: Sendable {
  /// The base learning rate (schedules scale from it).
  var learningRate: Float { get set }
  /// One step: `gradients[i]` is dLoss/d`parameters.values[i]`; `learningRate` is this step's rate.
  mutating func update(_ parameters: inout ParameterSet, gradients: [[Float]], learningRate: Float)
}

/// SGD as `torch.optim.SGD`: g ← g + wd·w; b ← g (first step) or μ·b + (1 − dampening)·g;
/// g ← g + μ·b (Nesterov) or b; w ← w − lr·g.
public struct SGD: Optimizer {
  public var learningRate: Float
  public var momentum: Float
  public var dampening: Float
  public var nesterov: Bool
  public var weightDecay: Float
  private var buffers: [[Float]] = []

  public init(
    learningRate: Float, momentum: Float = 0, dampening: Float = 0, nesterov: Bool = false,
    weightDecay: Float = 0
  ) {
    self.learningRate = learningRate
    self.momentum = momentum
    self.dampening = dampening
    self.nesterov = nesterov
    self.weightDecay = weightDecay
  }

  public mutating func update(_ parameters: inout ParameterSet, gradients: [[Float]], learningRate lr: Float)
  {
    let first = buffers.isEmpty
    if first { buffers = parameters.values.map { [Float](repeating: 0, count: $0.count) } }
    let (mu, damp, wd, nesterov) = (momentum, dampening, weightDecay, nesterov)
    for p in 0..<parameters.count {
      let mask = parameters.masks[p], grad = gradients[p]
      precondition(grad.count == parameters.values[p].count, "SGD: gradient size of \(parameters.names[p])")
      parameters.values[p].withUnsafeMutableBufferPointer { w in
        buffers[p].withUnsafeMutableBufferPointer { b in
          for i in 0..<w.count {
            if let mask, mask[i] == 0 {
              (w[i], b[i]) = (0, 0)
              continue
            }
            var g = grad[i] + wd * w[i]
            if mu != 0 {
              b[i] = first ? g : mu * b[i] + (1 - damp) * g
              g = nesterov ? g + mu * b[i] : b[i]
            }
            w[i] -= lr * g
          }
        }
      }
    }
  }
}

/// Adam (Kingma & Ba 2015) as `torch.optim.Adam`, or AdamW (Loshchilov & Hutter 2019) as
/// `torch.optim.AdamW` when `decoupled`:
///   Adam:  g ← g + wd·w.   AdamW: w ← w·(1 − lr·wd).
///   m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²;  w ← w − lr·(m / (1 − β1ᵗ)) / (√(v / (1 − β2ᵗ)) + ε)
public struct Adam: Optimizer {
  public var learningRate: Float
  public var beta1: Float
  public var beta2: Float
  public var epsilon: Float
  public var weightDecay: Float
  public var decoupled: Bool
  private var m: [[Float]] = []
  private var v: [[Float]] = []
  public private(set) var stepCount = 0

  public init(
    learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
    weightDecay: Float = 0, decoupled: Bool = false
  ) {
    self.learningRate = learningRate
    self.beta1 = beta1
    self.beta2 = beta2
    self.epsilon = epsilon
    self.weightDecay = weightDecay
    self.decoupled = decoupled
  }

  /// AdamW with PyTorch's default weight decay 0.01.
  public static func adamW(
    learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
    weightDecay: Float = 0.01
  ) -> Adam {
    Adam(
      learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay,
      decoupled: true)
  }

  /// First and second moments per parameter (empty before the first step), for checkpoints.
  public var moments: (first: [[Float]], second: [[Float]]) { (m, v) }

  /// Restores the moments and step count saved from `moments` / `stepCount` (resuming a run).
  public mutating func restore(first: [[Float]], second: [[Float]], stepCount: Int) {
    precondition(first.count == second.count, "Adam.restore: \(first.count) vs \(second.count) moments")
    (m, v, self.stepCount) = (first, second, stepCount)
  }

  public mutating func update(_ parameters: inout ParameterSet, gradients: [[Float]], learningRate lr: Float)
  {
    if m.isEmpty {
      m = parameters.values.map { [Float](repeating: 0, count: $0.count) }
      v = m
    }
    stepCount += 1
    let t = Double(stepCount)
    let bc1 = Float(1 - pow(Double(beta1), t)), bc2Root = Float((1 - pow(Double(beta2), t)).squareRoot())
    let (b1, b2, eps, wd, decoupled) = (beta1, beta2, epsilon, weightDecay, decoupled)
    let stepSize = lr / bc1
    for p in 0..<parameters.count {
      let mask = parameters.masks[p], grad = gradients[p]
      precondition(grad.count == parameters.values[p].count, "Adam: gradient size of \(parameters.names[p])")
      parameters.values[p].withUnsafeMutableBufferPointer { w in
        m[p].withUnsafeMutableBufferPointer { mp in
          v[p].withUnsafeMutableBufferPointer { vp in
            for i in 0..<w.count {
              if let mask, mask[i] == 0 {
                (w[i], mp[i], vp[i]) = (0, 0, 0)
                continue
              }
              var g = grad[i]
              if decoupled { w[i] *= 1 - lr * wd } else { g += wd * w[i] }
              mp[i] = b1 * mp[i] + (1 - b1) * g
              vp[i] = b2 * vp[i] + (1 - b2) * g * g
              w[i] -= stepSize * mp[i] / (vp[i].squareRoot() / bc2Root + eps)
            }
          }
        }
      }
    }
  }
}
