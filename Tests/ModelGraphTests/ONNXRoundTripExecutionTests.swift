import Foundation
import Runtime
import TensorCore
import Testing

@testable import ModelGraph

/// import → export → import gives identical outputs when executed (bit for bit: same graph, same weights).
@Suite struct ONNXRoundTripExecutionTests {
  static func roundTripped(_ graph: Graph) throws -> Graph {
    try ONNXImporter.decode(try ONNXExporter.serialized(graph), file: "exported.onnx")
  }

  @Test(arguments: ["mlp", "lenet5", "resblock"]) func fixtureOutputsAreIdentical(name: String) throws {
    let folder = "../shared/fixtures/onnx/"
    let original = try ONNXImporter.load(contentsOf: ONNXTestSupport.path(folder + name + ".onnx"))
    let io = try SafeTensorsFile(path: ONNXTestSupport.path(folder + name + ".io.safetensors"))
    let inputs = ["input": try io.tensor(named: "input")]
    let want = try Executor(graph: original).run(inputs)
    let got = try Executor(graph: try Self.roundTripped(original)).run(inputs)
    #expect(!want.isEmpty)
    #expect(got == want)
  }

  @Test func minilmOutputsAreIdentical() throws {
    let model = "../shared/models/all-MiniLM-L6-v2/"
    let original = try ONNXImporter.load(contentsOf: ONNXTestSupport.path(model + "onnx/model.onnx"))
    let reference = try SafeTensorsFile(path: ONNXTestSupport.path(model + "reference.safetensors"))
    var inputs: [String: Tensor] = [:]
    for name in ["input_ids", "attention_mask", "token_type_ids"] {
      let full = try reference.tensor(named: name)  // [64, sequence] int64
      let sequence = full.shape[1]
      inputs[name] = Tensor(shape: [2, sequence], int64s: Array(full.int64s.prefix(2 * sequence)))
    }
    let want = try Executor(graph: original).run(inputs)
    let got = try Executor(graph: try Self.roundTripped(original)).run(inputs)
    #expect(want["last_hidden_state"]?.shape.last == 384)
    #expect(got == want)
  }
}
