import ModelGraph
import TensorCore

#if canImport(Glibc)
  import Glibc
#endif

/// Learning-rate schedules, as a factor of the base rate at a given step.
public enum LearningRateSchedule: Sendable, Equatable {
  /// The base rate throughout.
  case constant
  /// `torch.optim.lr_scheduler.StepLR`: base · gamma^⌊epoch / every⌋.
  case step(everyEpochs: Int, gamma: Float)
  /// Cosine annealing over the whole run (Loshchilov & Hutter 2017, without restarts), per step:
  /// min + (base − min)·½(1 + cos(π·step/totalSteps)); `minimumFactor` = min / base.
  case cosine(minimumFactor: Float)

  /// The rate for global step `step` (0-based) of `totalSteps`, in `epoch` (0-based).
  public func rate(base: Float, epoch: Int, step: Int, totalSteps: Int) -> Float {
    switch self {
    case .constant:
      return base
    case .step(let every, let gamma):
      return base * powf(gamma, Float(epoch / max(every, 1)))
    case .cosine(let minimumFactor):
      let progress = Double(step) / Double(max(totalSteps, 1))
      let factor = Double(minimumFactor) + (1 - Double(minimumFactor)) * 0.5 * (1 + cos(Double.pi * progress))
      return base * Float(factor)
    }
  }
}

/// Seeded initialisers; `fans` follows `torch.nn.init._calculate_fan_in_and_fan_out`:
/// weight [out, in, k…] → fanIn = in·Πk, fanOut = out·Πk.
public enum Initializer {
  public static func fans(_ shape: [Int]) -> (fanIn: Int, fanOut: Int) {
    precondition(shape.count >= 2, "fans: weight of rank ≥ 2 expected, got \(shape)")
    let receptive = shape[2...].reduce(1, *)
    return (shape[1] * receptive, shape[0] * receptive)
  }

  /// Kaiming (He et al. 2015) uniform: U(−b, b), b = gain·√(3/fanIn), gain = √(2/(1 + a²)).
  /// a = √5 is PyTorch's default for `nn.Linear`/`nn.Conv2d` weights (then b = 1/√fanIn).
  public static func kaimingUniform(_ shape: [Int], a: Float = Float(5).squareRoot(), seed: UInt64) -> Tensor
  {
    let gain = (2 / (1 + a * a)).squareRoot()
    let bound = gain * (3 / Float(fans(shape).fanIn)).squareRoot()
    return Tensor.uniform(shape, low: -bound, high: bound, seed: seed)
  }

  /// Kaiming normal, fan-in mode: N(0, gain²/fanIn), gain = √2 for ReLU.
  public static func kaimingNormal(_ shape: [Int], gain: Float = Float(2).squareRoot(), seed: UInt64)
    -> Tensor
  {
    Tensor.normal(shape, std: gain / Float(fans(shape).fanIn).squareRoot(), seed: seed)
  }

  /// Xavier/Glorot (2010) uniform: U(−b, b), b = gain·√(6/(fanIn + fanOut)).
  public static func xavierUniform(_ shape: [Int], gain: Float = 1, seed: UInt64) -> Tensor {
    let (fanIn, fanOut) = fans(shape)
    let bound = gain * (6 / Float(fanIn + fanOut)).squareRoot()
    return Tensor.uniform(shape, low: -bound, high: bound, seed: seed)
  }

  /// Xavier normal: N(0, gain²·2/(fanIn + fanOut)).
  public static func xavierNormal(_ shape: [Int], gain: Float = 1, seed: UInt64) -> Tensor {
    let (fanIn, fanOut) = fans(shape)
    return Tensor.normal(shape, std: gain * (2 / Float(fanIn + fanOut)).squareRoot(), seed: seed)
  }

  /// PyTorch's default bias of `nn.Linear`/`nn.Conv2d`: U(−1/√fanIn, 1/√fanIn).
  public static func defaultBias(count: Int, fanIn: Int, seed: UInt64) -> Tensor {
    let bound = 1 / Float(fanIn).squareRoot()
    return Tensor.uniform([count], low: -bound, high: bound, seed: seed)
  }
}
