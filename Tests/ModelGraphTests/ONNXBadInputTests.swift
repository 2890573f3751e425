import Foundation
import TensorCore
import Testing

@testable import ModelGraph

/// A small valid model, built with the generated protobuf types, that each bad-input case breaks in
/// one way: y = Relu(MatMul(x, W)), x: [batch, 4], W: [4, 3].
enum TinyModel {
  static func tensor(_ name: String, dims: [Int64], type: Int32 = 1, raw: [UInt8]? = nil) -> Onnx_TensorProto
  {
    var proto = Onnx_TensorProto()
    proto.name = name
    proto.dims = dims
    proto.dataType = type
    let count = Int(dims.reduce(1, *))
    proto.rawData = Data(raw ?? (0..<count).flatMap { withUnsafeBytes(of: Float($0)) { Array($0) } })
    return proto
  }

  static func value(_ name: String, dims: [Int64?]) -> Onnx_ValueInfoProto {
    var proto = Onnx_ValueInfoProto()
    proto.name = name
    var type = Onnx_TypeProto.Tensor()
    type.elemType = 1
    var shape = Onnx_TensorShapeProto()
    shape.dim = dims.map { dim in
      var d = Onnx_TensorShapeProto.Dimension()
      if let dim { d.dimValue = dim } else { d.dimParam = "batch" }
      return d
    }
    type.shape = shape
    proto.type.tensorType = type
    return proto
  }

  static func node(_ name: String, _ op: String, _ inputs: [String], _ outputs: [String]) -> Onnx_NodeProto {
    var proto = Onnx_NodeProto()
    proto.name = name
    proto.opType = op
    proto.input = inputs
    proto.output = outputs
    return proto
  }

  static func model() -> Onnx_ModelProto {
    var model = Onnx_ModelProto()
    model.irVersion = 8
    var opset = Onnx_OperatorSetIdProto()
    opset.domain = ""
    opset.version = 17
    model.opsetImport = [opset]
    model.graph.name = "tiny"
    model.graph.input = [value("x", dims: [nil, 4])]
    model.graph.output = [value("y", dims: [nil, 3])]
    model.graph.initializer = [tensor("W", dims: [4, 3])]
    model.graph.node = [node("matmul0", "MatMul", ["x", "W"], ["h"]), node("relu0", "Relu", ["h"], ["y"])]
    return model
  }

  static func bytes(_ edit: (inout Onnx_ModelProto) -> Void) -> Data {
    var proto = model()
    edit(&proto)
    return try! proto.serializedBytes()
  }

  /// Makes W external: stored in `file` at `offset` with `length`.
  static func external(_ proto: inout Onnx_ModelProto, file: String, offset: Int, length: Int) {
    var w = proto.graph.initializer[0]
    w.clearRawData()
    w.dataLocation = .external
    w.externalData = [("location", file), ("offset", "\(offset)"), ("length", "\(length)")].map {
      var entry = Onnx_StringStringEntryProto()
      entry.key = $0.0
      entry.value = $0.1
      return entry
    }
    proto.graph.initializer[0] = w
  }
}

/// One broken model: how to write it into a folder, and words its error must contain.
struct BadInput: Sendable, CustomTestStringConvertible {
  var name: String
  var make: @Sendable (_ folder: String) throws -> Data
  var mustMention: [String]
  var testDescription: String { name }
}

@Suite struct ONNXBadInputTests {
  static let valid = TinyModel.bytes { _ in }
  static let externalBlob = Data(repeating: 0, count: 48)

  static func writeBlob(_ folder: String) throws {
    try externalBlob.write(to: URL(fileURLWithPath: folder + "/w.bin"))
  }

  static let cases: [BadInput] = [
    BadInput(name: "empty file", make: { _ in Data() }, mustMention: ["empty"]),
    BadInput(
      name: "truncated file", make: { _ in valid.prefix(valid.count - 7) }, mustMention: ["truncated"]),
    BadInput(
      name: "not protobuf", make: { _ in Data([0xFF, 0xFF, 0xFF, 0xFF]) }, mustMention: ["not an ONNX"]),
    BadInput(name: "no graph", make: { _ in TinyModel.bytes { $0.clearGraph() } }, mustMention: ["graph"]),
    BadInput(
      name: "missing initializer referenced by a node",
      make: { _ in TinyModel.bytes { $0.graph.initializer = [] } }, mustMention: ["matmul0", "'W'"]),
    BadInput(
      name: "raw_data length ≠ shape × dtype",
      make: { _ in TinyModel.bytes { $0.graph.initializer[0].rawData = Data(count: 40) } },
      mustMention: ["'W'", "48 bytes", "40 bytes"]),
    BadInput(
      name: "typed field count ≠ shape",
      make: { _ in
        TinyModel.bytes {
          $0.graph.initializer[0].clearRawData()
          $0.graph.initializer[0].floatData = [1, 2, 3]
        }
      }, mustMention: ["'W'", "float_data", "12 elements"]),
    BadInput(
      name: "unknown dtype code",
      make: { _ in TinyModel.bytes { $0.graph.initializer[0].dataType = 99 } },
      mustMention: ["'W'", "unknown code 99"]),
    BadInput(
      name: "unsupported dtype STRING",
      make: { _ in TinyModel.bytes { $0.graph.initializer[0].dataType = 8 } },
      mustMention: ["'W'", "STRING"]),
    BadInput(
      name: "negative dim in initializer",
      make: { _ in TinyModel.bytes { $0.graph.initializer[0].dims = [4, -3] } }, mustMention: ["'W'", "-3"]),
    BadInput(
      name: "absurd dim in initializer",
      make: { _ in TinyModel.bytes { $0.graph.initializer[0].dims = [1 << 50, 1 << 20] } },
      mustMention: ["'W'", "\(1 << 50)"]),
    BadInput(
      name: "negative dim in graph input",
      make: { _ in TinyModel.bytes { $0.graph.input = [TinyModel.value("x", dims: [nil, -4])] } },
      mustMention: ["input 'x'", "-4"]),
    BadInput(
      name: "external data file missing",
      make: { _ in TinyModel.bytes { TinyModel.external(&$0, file: "w.bin", offset: 0, length: 48) } },
      mustMention: ["'W'", "w.bin", "no such file"]),
    BadInput(
      name: "external data offset out of range",
      make: { folder in
        try writeBlob(folder)
        return TinyModel.bytes { TinyModel.external(&$0, file: "w.bin", offset: 16, length: 48) }
      }, mustMention: ["'W'", "offset 16", "file size 48"]),
    BadInput(
      name: "external data length ≠ shape × dtype",
      make: { folder in
        try writeBlob(folder)
        return TinyModel.bytes { TinyModel.external(&$0, file: "w.bin", offset: 0, length: 32) }
      }, mustMention: ["'W'", "48 bytes", "32"]),
    BadInput(
      name: "external data outside the model folder",
      make: { _ in TinyModel.bytes { TinyModel.external(&$0, file: "../w.bin", offset: 0, length: 48) } },
      mustMention: ["'W'", "../w.bin"]),
    BadInput(
      name: "duplicate output names",
      make: { _ in TinyModel.bytes { $0.graph.node.append(TinyModel.node("relu1", "Relu", ["h"], ["y"])) } },
      mustMention: ["'y'", "relu"]),
    BadInput(
      name: "node with unknown input",
      make: { _ in TinyModel.bytes { $0.graph.node[1].input = ["nowhere"] } },
      mustMention: ["relu0", "nowhere"]),
    BadInput(
      name: "cycle",
      make: { _ in TinyModel.bytes { $0.graph.node[0].input = ["y", "W"] } },
      mustMention: ["cycle", "matmul0"]),
    BadInput(
      name: "graph output produced by nothing",
      make: { _ in TinyModel.bytes { $0.graph.output = [TinyModel.value("z", dims: [nil, 3])] } },
      mustMention: ["output 'z'"]),
    BadInput(
      name: "sub-graph attribute",
      make: { _ in
        TinyModel.bytes {
          var attribute = Onnx_AttributeProto()
          attribute.name = "then_branch"
          attribute.type = .graph
          attribute.g = Onnx_GraphProto()
          $0.graph.node[1].attribute = [attribute]
        }
      }, mustMention: ["relu0", "then_branch", "sub-graph"]),
    BadInput(
      name: "Constant with a string value",
      make: { _ in
        TinyModel.bytes {
          var node = TinyModel.node("const0", "Constant", [], ["c"])
          var attribute = Onnx_AttributeProto()
          attribute.name = "value_string"
          attribute.type = .string
          attribute.s = Data("hi".utf8)
          node.attribute = [attribute]
          $0.graph.node.append(node)
        }
      }, mustMention: ["const0", "value_string"]),
    BadInput(
      name: "opset too old",
      make: { _ in TinyModel.bytes { $0.opsetImport[0].version = 0 } }, mustMention: ["opset", "0"]),
    BadInput(
      name: "opset too new",
      make: { _ in TinyModel.bytes { $0.opsetImport[0].version = 99 } }, mustMention: ["opset", "99"]),
    BadInput(
      name: "no ai.onnx opset",
      make: { _ in TinyModel.bytes { $0.opsetImport[0].domain = "com.example" } },
      mustMention: ["opset_import"]),
    BadInput(
      name: "duplicate initializer",
      make: { _ in TinyModel.bytes { $0.graph.initializer.append(TinyModel.tensor("W", dims: [4, 3])) } },
      mustMention: ["'W'", "duplicate"]),
  ]

  @Test(arguments: cases) func badInputIsANamedError(bad: BadInput) throws {
    let folder = try ONNXTestSupport.temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let path = folder + "/model.onnx"
    try bad.make(folder).write(to: URL(fileURLWithPath: path))
    do {
      let graph = try ONNXImporter.load(contentsOf: path)
      Issue.record("\(bad.name): imported without error: \(graph.nodes.map(\.name))")
    } catch let error as ModelGraphError {
      let message = error.description
      #expect(message.contains(path), "\(bad.name): \(message)")
      for word in bad.mustMention {
        #expect(message.contains(word), "\(bad.name): '\(word)' not in: \(message)")
      }
    }
  }

  @Test func tinyModelIsValid() throws {
    let graph = try ONNXImporter.decode(Self.valid, file: "tiny.onnx")
    #expect(graph.nodes.map(\.name) == ["matmul0", "relu0"])
    #expect(graph.initializers["W"]?.floats == (0..<12).map(Float.init))
  }

  @Test func missingFileIsFileNotFound() {
    #expect(throws: ModelGraphError.fileNotFound(path: "/nonexistent/model.onnx")) {
      try ONNXImporter.load(contentsOf: "/nonexistent/model.onnx")
    }
  }
}
