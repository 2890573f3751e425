import Foundation
import ModelGraph
import TensorCore
import Testing

@testable import Training

/// The forward half of every op against onnxruntime: the ../shared ONNX fixtures (PyTorch exports
/// with onnxruntime's outputs) run through `ForwardPass` in evaluation mode, and their gradients
/// flow to every parameter.
@Suite struct ONNXFixtureTests {
  static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../../../shared/fixtures/onnx").standardized.path
  /// Float32 with different summation orders.
  static let tolerance: Float = 1e-4

  @Test(arguments: ["mlp", "lenet5", "resblock"])
  func forwardMatchesOnnxruntime(_ name: String) throws {
    let graph = try ModelFile.load("\(ONNXFixtureTests.folder)/\(name).onnx")
    let io = try SafeTensorsFile(path: "\(ONNXFixtureTests.folder)/\(name).io.safetensors")
    let input = try io.tensor(named: "input").converted(to: .float32)
    let expected = try io.tensor(named: "output").converted(to: .float32)
    var context = ForwardContext(training: false)
    let pass = try ForwardPass(graph: graph, inputs: [graph.inputs[0].name: input], context: &context)
    let output = try #require(pass.value(graph.outputs[0].name))
    #expect(output.shape == expected.shape)
    let worst = zip(output.floats, expected.floats).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? 1
    #expect(worst < ONNXFixtureTests.tolerance, "\(name): max scaled |Δ| \(worst)")
    // Every trainable parameter receives a gradient of the right shape.
    let seed = Tensor.filled(output.shape, with: 1)
    let grads = try pass.backward(seeds: [graph.outputs[0].name: seed.map { $0 * 0.1 }])
    let names = graph.trainableParameterNames()
    #expect(!names.isEmpty)
    for p in names { #expect(grads[p]?.shape == graph.initializers[p]?.shape, "\(name): \(p)") }
  }
}
