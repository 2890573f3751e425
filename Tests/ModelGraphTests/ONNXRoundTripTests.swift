import Foundation
import TensorCore
import Testing

@testable import ModelGraph

/// import → export → import must give the same Graph (up to ONNX bookkeeping metadata).
@Suite struct ONNXRoundTripTests {
  static let models = [
    "../shared/fixtures/onnx/mlp.onnx", "../shared/fixtures/onnx/lenet5.onnx",
    "../shared/fixtures/onnx/resblock.onnx", "../shared/models/all-MiniLM-L6-v2/onnx/model.onnx",
  ]

  @Test(arguments: models) func inlineRoundTripIsIdentical(model: String) throws {
    let original = try ONNXImporter.load(contentsOf: ONNXTestSupport.path(model))
    let bytes = try ONNXExporter.serialized(original)
    let again = try ONNXImporter.decode(bytes, file: "exported.onnx")
    #expect(ONNXTestSupport.normalised(again) == ONNXTestSupport.normalised(original))
    // Export is deterministic: the second export is byte-identical.
    #expect(try ONNXExporter.serialized(again) == bytes)
  }

  @Test func externalDataRoundTripIsIdentical() throws {
    let original = try ONNXImporter.load(contentsOf: ONNXTestSupport.path(Self.models[2]))
    let folder = try ONNXTestSupport.temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let path = folder + "/resblock.onnx"
    try ONNXExporter.save(
      original, to: path, options: .init(externalDataFile: "resblock.data", externalThreshold: 64))
    let dataSize = try FileManager.default.attributesOfItem(atPath: folder + "/resblock.data")[.size] as? Int
    let bigBytes = original.initializers.values.map(\.rawBytes.count).filter { $0 >= 64 }.reduce(0, +)
    #expect((dataSize ?? 0) >= bigBytes)
    let modelSize = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
    #expect((modelSize ?? .max) < bigBytes)
    let again = try ONNXImporter.load(contentsOf: path)
    #expect(ONNXTestSupport.normalised(again) == ONNXTestSupport.normalised(original))
    // No temporary files are left behind.
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == [
        "resblock.data", "resblock.onnx",
      ])
  }

  @Test func everyDTypeAndAttributeKindSurvives() throws {
    var graph = Graph(name: "kinds", opsetVersion: 18)
    graph.inputs = [
      ValueInfo(name: "x", dtype: .float16, shape: [.symbolic("n"), .fixed(2), .symbolic("?")])
    ]
    var generator = SeededGenerator(seed: 7)
    for dtype in DType.allCases {
      let floats = (0..<6).map { _ in Float.random(in: -100...100, using: &generator).rounded() }
      let base = Tensor(
        shape: [2, 3],
        floats: floats.map { dtype.isFloatingPoint || dtype.rawValue.hasPrefix("int") ? $0 : abs($0) })
      graph.setInitializer("t_\(dtype.rawValue)", base.converted(to: dtype))
    }
    graph.setInitializer("empty", Tensor(shape: [0, 4], floats: []))
    graph.nodes = [
      Node(
        name: "n0", opType: "Custom", domain: "com.example", inputs: ["x", "", "t_float32"], outputs: ["y"],
        attributes: [
          "i": .int(-3), "f": .float(0.5), "s": .string("héllo"), "is": .ints([1, -2]),
          "fs": .floats([1.5, -2]), "ss": .strings(["a", ""]),
          "t": .tensor(Tensor(shape: [2], int64s: [4, 5])),
        ])
    ]
    graph.outputs = [ValueInfo(name: "y", dtype: .bfloat16, shape: nil)]
    graph.metadata = ["onnx.opset.com.example": "3", "author": "test"]
    let again = try ONNXImporter.decode(try ONNXExporter.serialized(graph), file: "kinds.onnx")
    #expect(ONNXTestSupport.normalised(again) == graph)
  }

  @Test func exportRejectsAnInvalidGraph() {
    let graph = Graph(nodes: [Node(name: "r", opType: "Relu", inputs: ["missing"], outputs: ["y"])])
    #expect(throws: ModelGraphError.missingValue(node: "r", name: "missing")) {
      try ONNXExporter.serialized(graph)
    }
  }
}
