import Foundation
import ModelGraph
import TensorCore

/// Where centroid fine-tuning gets its gradients. Compression never imports Training: PruneKit
/// adapts a training loop to this protocol (a mini-batch forward/backward pass per call).
public protocol WeightGradientSource {
  /// ∂loss/∂W for each named initializer of `graph` (same shapes as the weights), at the graph's
  /// current weights, on the source's next mini-batch.
  mutating func gradients(of graph: Graph, for names: [String]) throws -> [String: Tensor]
}

/// Settings of centroid fine-tuning (Deep Compression §3.3, Fig. 3): the gradient of a centroid is
/// the sum of the gradients of the weights that share it; centroids follow SGD with momentum.
public struct CentroidFineTuning: Sendable {
  public var steps: Int
  public var learningRate: Float
  public var momentum: Float
  /// Anneal the rate as ½(1 + cos(π·t/steps)) over the steps (t = 0 … steps−1) instead of keeping it
  /// constant, so the centroids settle instead of ending wherever the last mini-batches pushed them.
  public var cosineDecay: Bool

  public init(steps: Int, learningRate: Float = 1e-3, momentum: Float = 0.9, cosineDecay: Bool = false) {
    self.steps = steps
    self.learningRate = learningRate
    self.momentum = momentum
    self.cosineDecay = cosineDecay
  }

  /// The learning rate of step `step` (0-based).
  public func rate(atStep step: Int) -> Float {
    guard cosineDecay, steps > 0 else { return learningRate }
    return learningRate * Float(0.5 * (1 + cos(Double.pi * Double(step) / Double(steps))))
  }
}

/// Per-cluster sums of `gradient` (dense, row-major) over the entries of a k-means layer.
public func centroidGradients(of layer: QuantizedLayer, weightGradient gradient: [Float]) -> [Float] {
  precondition(layer.scheme == .kmeans, "centroidGradients(\(layer.name)): scheme \(layer.scheme)")
  precondition(
    gradient.count == layer.count, "centroidGradients(\(layer.name)): gradient of \(gradient.count)")
  var sums = [Float](repeating: 0, count: layer.codebook.count)
  for (p, s) in zip(layer.positions, layer.symbols) { sums[Int(s)] += gradient[p] }
  return sums
}

/// Fine-tunes the centroids of the k-means layers and writes the shared weights into `graph` after
/// every step. Assignments and positions never change, so pruned weights stay exactly zero (masks
/// held) and each weight keeps its cluster. `progress(step, steps)` is called after each step.
public func fineTuneCentroids<Source: WeightGradientSource>(
  _ layers: inout [QuantizedLayer], in graph: inout Graph, source: inout Source,
  settings: CentroidFineTuning, progress: (Int, Int) -> Void = { _, _ in }
) throws {
  let tuned = layers.indices.filter { layers[$0].scheme == .kmeans }
  let names = tuned.map { layers[$0].name }
  var velocity = tuned.map { [Float](repeating: 0, count: layers[$0].codebook.count) }
  for i in tuned { graph.initializers[layers[i].name] = layers[i].dequantized() }
  for step in 0..<settings.steps {
    let grads = try source.gradients(of: graph, for: names)
    let rate = settings.rate(atStep: step)
    for (slot, i) in tuned.enumerated() {
      guard let g = grads[layers[i].name] else {
        throw ModelGraphError.missingInitializer(name: layers[i].name)
      }
      let cg = centroidGradients(of: layers[i], weightGradient: g.asFloats())
      for j in cg.indices {
        velocity[slot][j] = settings.momentum * velocity[slot][j] + cg[j]
        layers[i].codebook[j] -= rate * velocity[slot][j]
      }
      graph.initializers[layers[i].name] = layers[i].dequantized()
    }
    progress(step + 1, settings.steps)
  }
}
