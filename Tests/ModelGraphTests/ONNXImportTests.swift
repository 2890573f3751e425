import Foundation
import TensorCore
import Testing

@testable import ModelGraph

/// Imports the real models in ../shared and checks them against what the `onnx` Python package reads
/// (Tests/Data/onnx_reference.json, made by scripts/onnx_reference_counts.py).
@Suite struct ONNXImportTests {
  static let models = ["mlp", "lenet5", "resblock", "minilm"]

  @Test(arguments: models) func importMatchesOnnxPackage(model: String) throws {
    let reference = try #require(try ONNXTestSupport.references()[model])
    let graph = try ONNXImporter.load(contentsOf: ONNXTestSupport.path(reference.path))

    #expect(graph.opsetVersion == reference.opset)
    let opCounts = Dictionary(graph.nodes.map { ($0.opType, 1) }, uniquingKeysWith: +)
    #expect(opCounts == reference.op_counts)
    // Constant nodes were folded into initializers.
    #expect(graph.initializers.count == reference.initializers.count + reference.constant_nodes)
    for (name, expected) in reference.initializers {
      let tensor = try #require(graph.initializers[name], "initializer \(name)")
      #expect(tensor.shape == expected.dims, "\(name)")
      #expect(ONNXDataType.code(of: tensor.dtype) == expected.data_type, "\(name)")
    }
    for (name, shape) in reference.constant_shapes {
      #expect(graph.initializers[name]?.shape == shape, "constant \(name)")
    }
    let parameters = reference.initializers.keys.reduce(0) { $0 + graph.initializers[$1]!.count }
    #expect(parameters == reference.parameter_count)
    #expect(graph.inputs.map(\.name) == reference.inputs.map(\.name))
    #expect(graph.inputs.map(\.shape) == reference.inputs.map { $0.dims.map(\.dim) })
    #expect(graph.outputs.map(\.name) == reference.outputs.map(\.name))
    #expect(graph.outputs.map(\.shape) == reference.outputs.map { $0.dims.map(\.dim) })
    try graph.validate()
  }

  @Test func mlpWeightsAndAttributesAreDecoded() throws {
    let graph = try ONNXImporter.load(contentsOf: ONNXTestSupport.path("../shared/fixtures/onnx/mlp.onnx"))
    let gemm = try #require(graph.nodes.first { $0.opType == "Gemm" })
    #expect(gemm.attributes["transB"] == .int(1))
    let weight = try #require(graph.initializers[gemm.inputs[1]])
    #expect(weight.dtype == .float32)
    #expect(weight.floats.allSatisfy { $0.isFinite })
    #expect(weight.floats.contains { $0 != 0 })
    #expect(graph.inputs.first?.dtype == .float32)
    #expect(graph.metadata["onnx.producer_name"] == "pytorch")
  }

  @Test func minilmInputsAreInt64WithSymbolicBatchAndSequence() throws {
    let path = ONNXTestSupport.path("../shared/models/all-MiniLM-L6-v2/onnx/model.onnx")
    let graph = try ONNXImporter.load(contentsOf: path)
    #expect(graph.inputs.map(\.dtype) == [.int64, .int64, .int64])
    #expect(graph.inputs[0].shape == [.symbolic("batch"), .symbolic("sequence")])
    #expect(graph.nodes.allSatisfy { $0.opType != "Constant" })
  }
}
