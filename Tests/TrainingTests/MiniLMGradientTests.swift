import Foundation
import ModelGraph
import TensorCore
import Testing

@testable import Training

/// The whole-model gradient of all-MiniLM-L6-v2 (its ONNX export, differentiated through the
/// executor's graph) against PyTorch's autograd in float64 on the same batch and loss
/// (scripts/make_minilm_grad_golden.py → Golden/minilm_grad.json).
@Suite(.serialized) struct MiniLMGradientTests {
  static let modelPath = "../shared/models/all-MiniLM-L6-v2/onnx/model.onnx"

  struct Slice: Decodable {
    let row: Int
    let values: [Double]
  }
  struct Golden: Decodable {
    let input_ids: [[Int64]]
    let attention_mask: [[Int64]]
    let loss: Double
    let gradient_norms: [String: Double]
    let gradient_slices: [String: Slice]
  }

  /// Relative tolerance on gradient norms and on values (scaled by the slice's largest value): the
  /// executor computes in Float32 (≈1e-6 per op) through 6 layers; a wrong rule moves gradients by O(1).
  static let tolerance = 2e-3
  /// Absolute floor: the attention key biases' true gradient is 0 (softmax ignores a per-row shift);
  /// Float32 rounding leaves ~1e-6 there, against gradient norms of 1e-2…10 elsewhere.
  static let floor = 1e-5

  @Test(.enabled(if: FileManager.default.fileExists(atPath: modelPath)))
  func wholeModelGradientMatchesPyTorch() throws {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/minilm_grad.json")
    let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
    let graph = try ModelFile.load(Self.modelPath)
    let model = try DifferentiableGraph(graph: graph)
    #expect(Set(model.parameterNames) == Set(golden.gradient_norms.keys))
    let (n, t) = (golden.input_ids.count, golden.input_ids[0].count)
    let inputs = [
      "input_ids": Tensor(shape: [n, t], int64s: golden.input_ids.flatMap { $0 }),
      "attention_mask": Tensor(shape: [n, t], int64s: golden.attention_mask.flatMap { $0 }),
      "token_type_ids": Tensor(shape: [n, t], int64s: [Int64](repeating: 0, count: n * t)),
    ]
    let pass = try model.forward(inputs, context: ForwardContext(training: false))
    let hidden = try #require(pass.value("last_hidden_state"))
    let r = (0..<hidden.count).map { Float(sin(0.37 * Double($0) + 0.1)) }
    let loss = zip(hidden.floats, r).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    #expect(abs(loss - golden.loss) <= Self.tolerance * abs(golden.loss), "loss \(loss) vs \(golden.loss)")
    let grads = try pass.backward(seeds: ["last_hidden_state": Tensor(shape: hidden.shape, floats: r)])
    for (name, norm) in golden.gradient_norms.sorted(by: { $0.key < $1.key }) {
      let g = try #require(grads[name], "no gradient for \(name)")
      let ours = g.floats.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
      #expect(abs(ours - norm) <= Self.tolerance * norm + Self.floor, "‖∂L/∂\(name)‖ \(ours) vs PyTorch \(norm)")
    }
    for (name, slice) in golden.gradient_slices {
      let g = try #require(grads[name])
      let width = g.rank == 2 ? g.shape[1] : g.count
      let ours = g.floats[(slice.row * width)..<(slice.row * width + slice.values.count)].map(Double.init)
      let scale = slice.values.map(abs).max() ?? 0
      for (a, b) in zip(ours, slice.values) {
        #expect(abs(a - b) <= Self.tolerance * scale + 1e-7, "\(name) row \(slice.row): \(ours) vs \(slice.values)")
      }
    }
  }
}
