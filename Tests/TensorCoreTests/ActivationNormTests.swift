import Foundation
import Testing

@testable import TensorCore

/// Activations, softmax and normalisations: fast SIMD kernels vs scalar references, plus properties.
@Suite struct ActivationNormTests {
  /// erf (and so GELU) must stay within 1e-6 absolute of libm (issue requirement).
  static let erfTolerance: Float = 1e-6
  /// exp-based activations (sigmoid, tanh) vs Double libm.
  static let expTolerance: Float = 2e-6
  /// softmax probabilities and log-probabilities (|log p| up to ~20).
  static let softmaxTolerance: Float = 1e-5
  /// normalised outputs (unit variance, scale and bias N(0,1)).
  static let normTolerance: Float = 1e-4

  /// Odd lengths hit the SIMD tails; the big one crosses the parallel threshold.
  static let lengths = [1, 15, 16, 17, 33, 1000, 70_001]

  @Test(arguments: lengths)
  func activationsMatchReferences(length: Int) {
    let x = Tensor.normal([length], std: 4, seed: UInt64(length))
    let pairs: [(String, (Tensor) -> Tensor, (Tensor) -> Tensor, Float)] = [
      ("relu", relu, reluReference, 0),
      ("gelu", gelu, geluReference, Self.erfTolerance * 4 * 4),
      ("erf", erf, erfReference, Self.erfTolerance),
      ("tanh", tanh, tanhReference, Self.expTolerance),
      ("sigmoid", sigmoid, sigmoidReference, Self.expTolerance),
      ("leakyRelu", { leakyRelu($0, alpha: 0.1) }, { leakyReluReference($0, alpha: 0.1) }, 0),
      ("hardSigmoid", { hardSigmoid($0) }, { hardSigmoidReference($0) }, 1e-7),
      ("hardSwish", hardSwish, hardSwishReference, 1e-6),
      ("clip", { clip($0, min: 0, max: 6) }, { clipReference($0, min: 0, max: 6) }, 0),
    ]
    for (name, fast, reference, tolerance) in pairs {
      #expect(maxAbsDiff(fast(x), reference(x)) <= tolerance, "\(name) length \(length)")
    }
  }

  @Test func erfIsAccurateOverTheWholeLine() {
    // dense sweep of [-6, 6] plus extremes and NaN
    var values = (0...24_000).map { Float($0) / 2000 - 6 }
    values += [-Float.infinity, .infinity, -1e-30, 1e-30, 0, -0.0]
    let x = Tensor(shape: [values.count], floats: values)
    #expect(maxAbsDiff(erf(x), erfReference(x)) <= Self.erfTolerance)
    #expect(erf(Tensor(shape: [1], floats: [.nan])).floats[0].isNaN)
  }

  @Test func activationsHandComputed() {
    let x = Tensor(shape: [5], floats: [-3, -1, 0, 1, 3])
    // GELU(±1) = ±Φ(±1): 0.8413447, −0.1586553
    let g = gelu(x).floats
    #expect(Swift.abs(g[3] - 0.841_344_7) < 1e-6 && Swift.abs(g[1] + 0.158_655_3) < 1e-6)
    #expect(maxAbsDiff(hardSwish(x), Tensor(shape: [5], floats: [0, -1.0 / 3, 0, 2.0 / 3, 3])) < 1e-6)
    #expect(Swift.abs(sigmoid(x).floats[4] - 0.952_574_1) < 1e-6)
    #expect(relu(x).floats == [0, 0, 0, 1, 3])
  }

  @Test(arguments: [[1, 1], [3, 7], [4, 16], [5, 33], [128, 128], [2, 3, 517]])
  func softmaxMatchesReferenceAndSumsToOne(shape: [Int]) throws {
    let x = Tensor.normal(shape, std: 5, seed: UInt64(shape.reduce(0, +)))
    for axis in [-1, 0] {
      let p = try softmax(x, axis: axis)
      #expect(maxAbsDiff(p, try softmaxReference(x, axis: axis)) <= Self.softmaxTolerance)
      let logp = try logSoftmax(x, axis: axis)
      #expect(maxAbsDiff(logp, try logSoftmaxReference(x, axis: axis)) <= Self.softmaxTolerance)
      // rows sum to 1; logSoftmax = log(softmax)
      let sums = try p.reduceSum(axes: [axis])
      #expect(sums.floats.allSatisfy { Swift.abs($0 - 1) < 1e-5 })
      let logOfP = p.map { Foundation.log($0) }
      let finite = zip(logOfP.floats, logp.floats).filter { $0.0 > -30 }
      #expect(finite.allSatisfy { Swift.abs($0.0 - $0.1) < 1e-4 })
    }
  }

  @Test func softmaxIsStableForHugeLogits() throws {
    let x = Tensor(shape: [1, 3], floats: [1000, 1001, -1000])
    let p = try softmax(x)
    #expect(p.floats.allSatisfy { $0.isFinite })
    #expect(Swift.abs(p.floats[1] - 0.731_058_6) < 1e-6)
    #expect(Swift.abs(try logSoftmax(x).floats[2] + 2001.313_3) < 1e-2)
  }

  @Test(arguments: [[2, 5], [3, 4, 16], [7, 384], [128, 384], [2, 3, 4, 5]])
  func layerNormMatchesReference(shape: [Int]) throws {
    let x = Tensor.normal(shape, mean: 3, std: 2, seed: 5)
    for axis in [-1, shape.count > 2 ? -2 : -1] {
      let d = shape[(shape.count + axis)...].reduce(1, *)
      let g = Tensor.normal([d], seed: 6), b = Tensor.normal([d], seed: 7)
      let fast = try layerNormWithStatistics(x, scale: g, bias: b, axis: axis)
      #expect(
        maxAbsDiff(fast.output, try layerNormReference(x, scale: g, bias: b, axis: axis))
          <= Self.normTolerance)
      #expect(fast.mean.count == x.count / d)
      #expect(fast.mean.floats.allSatisfy { Swift.abs($0 - 3) < 2 })
      // without bias, and unit scale: each row has mean 0 and variance ≈ 1
      let plain = try layerNorm(x, scale: .filled([d], with: 1), axis: axis)
      let rows = try plain.reshaped([x.count / d, d])
      #expect(try rows.reduceMean(axes: [1]).floats.allSatisfy { Swift.abs($0) < 1e-4 })
    }
    #expect(throws: TensorError.self) { try layerNorm(x, scale: .zeros([3])) }
  }

  @Test(arguments: [[1, 3, 1, 1], [2, 5, 7, 9], [4, 16, 32, 33], [3, 4]])
  func batchNormMatchesReference(shape: [Int]) throws {
    let c = shape[1]
    let x = Tensor.normal(shape, seed: 11)
    let (g, b, m) = (Tensor.normal([c], seed: 12), Tensor.normal([c], seed: 13), Tensor.normal([c], seed: 14))
    let v = Tensor.uniform([c], low: 0.1, high: 2, seed: 15)
    let fast = try batchNormInference(x, scale: g, bias: b, mean: m, variance: v, epsilon: 1e-3)
    let ref = try batchNormInferenceReference(x, scale: g, bias: b, mean: m, variance: v, epsilon: 1e-3)
    #expect(maxAbsDiff(fast, ref) <= Self.normTolerance)
    #expect(throws: TensorError.self) {
      try batchNormInference(x, scale: .zeros([c + 1]), bias: b, mean: m, variance: v)
    }
  }
}
