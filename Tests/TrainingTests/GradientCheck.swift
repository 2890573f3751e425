import ModelGraph
import TensorCore
import Testing

@testable import Training

/// Central finite differences for every element of every differentiable input of a graph.
///
/// The loss is L = Σ r·y over the first output, with r fixed random, accumulated in Float64; the
/// forward runs in Float32. With step `eps` the difference quotient (L(x+eps) − L(x−eps)) / 2eps has
/// truncation error O(eps²) and rounding error ~1e-7·Σ|r·y| / eps; `tolerance` bounds
/// |analytic − numeric| ≤ tolerance·(1 + |numeric|). A wrong index or transpose moves gradients by
/// O(1), far outside that.
struct GradientCheck {
  static let defaultStep: Float = 1e-2
  static let defaultTolerance = 2e-3

  var graph: Graph
  var inputs: [String: Tensor]
  var training = false
  var eps: Float = GradientCheck.defaultStep
  var tolerance = GradientCheck.defaultTolerance

  func loss(_ inputs: [String: Tensor], _ parameters: [String: Tensor], weights r: [Double]) throws -> Double
  {
    var context = ForwardContext(training: training, seed: 42)
    let pass = try ForwardPass(graph: graph, inputs: inputs, parameters: parameters, context: &context)
    let y = pass.value(graph.outputs[0].name)!.floats
    var sum = 0.0
    for i in 0..<y.count { sum += r[i] * Double(y[i]) }
    return sum
  }

  /// Returns the largest scaled error over all checked elements, and checks it with #expect.
  @discardableResult
  func run(sourceLocation: SourceLocation = #_sourceLocation) throws -> Double {
    var context = ForwardContext(training: training, seed: 42)
    let pass = try ForwardPass(graph: graph, inputs: inputs, context: &context)
    let y = pass.value(graph.outputs[0].name)!
    var rng = SeededGenerator(seed: 7)
    let r = (0..<y.count).map { _ in Double(rng.nextNormal()) }
    let seed = Tensor(shape: y.shape, floats: r.map { Float($0) })
    let grads = try pass.backward(seeds: [graph.outputs[0].name: seed])
    let trainable = Set(graph.trainableParameterNames())
    var worst = 0.0
    var checked = 0
    let names = inputs.keys.sorted() + trainable.sorted()
    for name in names {
      let isInput = inputs[name] != nil
      let base = isInput ? inputs[name]! : graph.initializers[name]!
      guard base.dtype == .float32 else { continue }
      let analytic = try #require(grads[name], "no gradient for \(name)", sourceLocation: sourceLocation)
      #expect(analytic.shape == base.shape, "gradient shape of \(name)", sourceLocation: sourceLocation)
      let a = analytic.floats
      for i in 0..<base.count {
        func shifted(_ delta: Float) throws -> Double {
          var v = base.floats
          v[i] += delta
          let t = Tensor(shape: base.shape, floats: v)
          var ins = inputs, params: [String: Tensor] = [:]
          if isInput { ins[name] = t } else { params[name] = t }
          return try loss(ins, params, weights: r)
        }
        let numeric = (try shifted(eps) - (try shifted(-eps))) / (2 * Double(eps))
        let error = abs(Double(a[i]) - numeric) / (1 + abs(numeric))
        if error > tolerance {
          Issue.record(
            "\(name)[\(i)]: analytic \(a[i]) vs numeric \(numeric) (scaled error \(error))",
            sourceLocation: sourceLocation)
          return error
        }
        worst = max(worst, error)
        checked += 1
      }
    }
    #expect(checked > 0, sourceLocation: sourceLocation)
    return worst
  }
}

/// A one-node graph reading `inputs` (graph inputs) and `parameters` (initializers).
func singleOpGraph(
  _ op: String, inputs: [String], parameters: [String: Tensor] = [:], constants: [String: Tensor] = [:],
  attributes: [String: Attribute] = [:], outputs: Int = 1
) -> Graph {
  let outs = (0..<outputs).map { "y\($0)" }
  var all = parameters
  for (k, v) in constants { all[k] = v }
  let nodeInputs = inputs
  return Graph(
    name: op,
    nodes: [Node(name: "n0", opType: op, inputs: nodeInputs, outputs: outs, attributes: attributes)],
    initializers: all,
    inputs: [],
    outputs: [ValueInfo(name: "y0", dtype: .float32, shape: nil)])
}

/// Seeded normal tensor.
func randn(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
  Tensor.normal(shape, std: scale, seed: seed)
}

/// Values spread at least `gap` apart (a seeded permutation of k·gap), for ops with kinks (MaxPool).
func distinct(_ shape: [Int], seed: UInt64, gap: Float = 0.05) -> Tensor {
  var values = (0..<Tensor.elementCount(shape)).map {
    Float($0) * gap - Float(Tensor.elementCount(shape)) * gap / 2
  }
  seededShuffle(&values, seed: seed)
  return Tensor(shape: shape, floats: values)
}

/// Normal values pushed away from 0 by at least `margin` (for ReLU's kink).
func awayFromZero(_ shape: [Int], seed: UInt64, margin: Float = 0.05) -> Tensor {
  randn(shape, seed: seed).map { $0 >= 0 ? $0 + margin : $0 - margin }
}
