import Compression
import Evaluation
import Foundation
import ModelGraph
import Runtime
import TensorCore
import Training

/// Static activation scales for `quantizeForInt8Execution` from calibration inputs: the Float32 model
/// runs on them, and each quantizable linear layer's input X gives s = r / 127 with
///
/// | method | r |
/// |---|---|
/// | `minmax` | max |X| over all calibration values |
/// | `percentile` | the p-th percentile of |X| (p = 99.99 by default; values beyond it saturate to ±127) |
public enum ActivationCalibration: String, Sendable, CaseIterable {
  case minmax, percentile
}

public func calibrateActivationScales(
  _ graph: Graph, batches: [[String: Tensor]], method: ActivationCalibration, percentile: Double = 99.99,
  keepFloat: Set<String> = []
) throws -> [String: Float] {
  let layers = graph.nodes.filter {
    ["MatMul", "Gemm"].contains($0.opType) && $0.inputs.count >= 2
      && graph.initializers[$0.inputs[1]].map { $0.rank == 2 && $0.dtype == .float32 } == true
      && !keepFloat.contains($0.name) && !keepFloat.contains($0.inputs[1])
  }
  let executor = try Executor(graph: graph, optimize: false)
  var magnitudes: [String: [Float]] = [:]
  for batch in batches {
    let values = try executor.run(batch, keeping: Set(layers.map { $0.inputs[0] }))
    for node in layers {
      guard let x = values[node.inputs[0]], x.dtype == .float32 else { continue }
      magnitudes[node.name, default: []] += x.floats.map { abs($0) }
    }
  }
  var scales: [String: Float] = [:]
  for node in layers {
    var v = magnitudes[node.name] ?? []
    guard !v.isEmpty else { continue }
    var r: Float
    switch method {
    case .minmax: r = v.max()!
    case .percentile:
      v.sort()
      r = v[min(v.count - 1, Int((Double(v.count) * percentile / 100).rounded(.down)))]
    }
    guard r.isFinite else {
      throw CompressionError.invalidArgument(
        what: "calibration of '\(node.name)'", expected: "finite activations", found: "\(r)")
    }
    scales[node.name] = max(r, rowScaleFloor * 127) / 127
  }
  return scales
}

/// Top-1 accuracy of a classifier with one image input on a labelled image set, in batches.
public func imageAccuracy(_ graph: Graph, on data: ImageDataset, batchSize: Int = 1000) throws -> Double {
  guard let input = graph.inputs.first(where: { graph.initializers[$0.name] == nil }) else {
    throw ModelGraphError.invalidModel("the model has no runtime input")
  }
  let executor = try Executor(graph: graph)
  var correct = 0
  for start in stride(from: 0, to: data.count, by: batchSize) {
    let n = min(batchSize, data.count - start)
    let x = imageBatch(data, start: start, count: n, for: input)
    let logits = try executor.run([input.name: x])[graph.outputs[0].name]!
    let predicted = try predictions(fromLogits: logits)
    for i in 0..<n where predicted[i] == data.labels[start + i] { correct += 1 }
  }
  return Double(correct) / Double(max(data.count, 1))
}

/// Images start..<start+count shaped as the input declares ([N, 784] or [N, C, H, W]).
public func imageBatch(_ data: ImageDataset, start: Int, count: Int, for input: ValueInfo) -> Tensor {
  let size = data.imageSize
  let pixels = Array(data.images[(start * size)..<((start + count) * size)])
  let shape = input.shape?.count == 2 ? [count, size] : [count, data.channels, data.height, data.width]
  return Tensor(shape: shape, floats: pixels)
}
