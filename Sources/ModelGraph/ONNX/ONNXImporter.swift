import Foundation
import SwiftProtobuf
import TensorCore

/// Reads an ONNX model (onnx.proto `ModelProto`) into a `Graph`.
///
/// Only structure is mapped: nodes with their attributes, initializers (inline or external data),
/// graph inputs/outputs with symbolic dims, and opset imports. `Constant` nodes become initializers
/// named by their output. Op semantics are the executor's business. The result is topologically
/// sorted and validated (`Graph.validate()`).
///
/// Graph fields used: `opsetVersion` = the ai.onnx opset; `metadata["onnx.opset.<domain>"]` = other
/// domains' versions; `metadata["onnx.ir_version" | "onnx.producer_name" | "onnx.producer_version"]`;
/// model `metadata_props` are kept under their own keys.
public enum ONNXImporter {
  /// Opsets accepted for the ai.onnx domain: 1 up to the newest the generated onnx.proto (onnx 1.23)
  /// knows. Graphs below 7 (the first with today's broadcasting rules) are upgraded to 7 on import
  /// (`ONNXOpsetUpgrade`).
  public static let supportedOpsets = 1...28

  /// Loads the model at `path`; external data is resolved relative to its folder.
  public static func load(contentsOf path: String) throws -> Graph {
    try InputPath.check(path)
    let data: Data
    do {
      data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
    } catch {
      throw ModelGraphError.unreadable(path: path, reason: "\(error)")
    }
    let folder = (path as NSString).deletingLastPathComponent
    return try decode(data, file: path, baseDirectory: folder.isEmpty ? "." : folder)
  }

  /// Decodes serialized `ModelProto` bytes. `file` names the source in errors; `baseDirectory` is where
  /// external data lives (nil: external data is an error).
  public static func decode(_ data: Data, file: String = "<memory>", baseDirectory: String? = nil) throws
    -> Graph
  {
    guard !data.isEmpty else {
      throw ModelGraphError.unreadable(path: file, reason: "empty file, expected an ONNX ModelProto")
    }
    let model: Onnx_ModelProto
    do {
      model = try Onnx_ModelProto(serializedBytes: data)
    } catch {
      throw ModelGraphError.unreadable(
        path: file, reason: "not an ONNX protobuf (\(error)); the file may be truncated or not ONNX")
    }
    let reader = ONNXGraphReader(
      file: file, decoder: ONNXTensorDecoder(file: file, baseDirectory: baseDirectory))
    return try reader.read(model)
  }
}

/// One import: turns a decoded `ModelProto` into a `Graph`.
struct ONNXGraphReader {
  let file: String
  let decoder: ONNXTensorDecoder

  private func malformed(_ at: String, expected: String, found: String) -> ModelGraphError {
    .malformed(file: file, at: at, expected: expected, found: found)
  }

  func read(_ model: Onnx_ModelProto) throws -> Graph {
    guard model.hasGraph else { throw malformed("ModelProto.graph", expected: "a graph", found: "none") }
    var graph = Graph(name: model.graph.name.isEmpty ? "graph" : model.graph.name)
    try readOpsets(model, into: &graph)
    graph.metadata["onnx.ir_version"] = "\(model.irVersion)"
    if model.hasProducerName { graph.metadata["onnx.producer_name"] = model.producerName }
    if model.hasProducerVersion { graph.metadata["onnx.producer_version"] = model.producerVersion }
    for prop in model.metadataProps where !prop.key.hasPrefix("onnx.") {
      graph.metadata[prop.key] = prop.value
    }

    let proto = model.graph
    if let sparse = proto.sparseInitializer.first {
      throw malformed(
        "sparse_initializer '\(sparse.values.name)'", expected: "dense initializers",
        found: "a sparse initializer (not supported)")
    }
    for tensor in proto.initializer {
      guard graph.initializers[tensor.name] == nil else {
        throw malformed("initializer '\(tensor.name)'", expected: "a unique name", found: "a duplicate")
      }
      graph.setInitializer(tensor.name, try decoder.decode(tensor, what: "initializer '\(tensor.name)'"))
    }
    // Before IR 4, initializers were also listed as graph inputs; those are not runtime inputs.
    graph.inputs = try proto.input.filter { graph.initializers[$0.name] == nil }
      .map { try valueInfo($0, role: "input") }
    graph.outputs = try proto.output.map { try valueInfo($0, role: "output") }
    try readNodes(proto.node, into: &graph)
    if graph.opsetVersion < ONNXOpsetUpgrade.targetOpset {
      try ONNXOpsetUpgrade.upgrade(&graph, from: graph.opsetVersion, file: file)
    }
    do {
      try graph.sortTopologically()
      try graph.validate()
    } catch let error as ModelGraphError {
      throw ModelGraphError.invalidModel("\(file): \(error)")
    }
    return graph
  }

  private func readOpsets(_ model: Onnx_ModelProto, into graph: inout Graph) throws {
    var defaultVersion: Int64?
    for opset in model.opsetImport {
      if opset.domain.isEmpty || opset.domain == "ai.onnx" {
        defaultVersion = opset.version
      } else {
        graph.metadata["onnx.opset.\(opset.domain)"] = "\(opset.version)"
      }
    }
    guard let version = defaultVersion else {
      throw malformed("opset_import", expected: "an entry for the ai.onnx domain", found: "none")
    }
    guard ONNXImporter.supportedOpsets.contains(Int(clamping: version)) else {
      let range = ONNXImporter.supportedOpsets
      throw malformed(
        "opset_import (ai.onnx)", expected: "opset \(range.lowerBound)...\(range.upperBound)",
        found: "\(version)")
    }
    graph.opsetVersion = Int(version)
  }

  private func valueInfo(_ proto: Onnx_ValueInfoProto, role: String) throws -> ValueInfo {
    let what = "graph \(role) '\(proto.name)'"
    guard proto.hasType, case .tensorType(let type)? = proto.type.value else {
      throw malformed(
        "\(what) type", expected: "a tensor type", found: "\(proto.type.value.map { "\($0)" } ?? "none")")
    }
    guard let dtype = ONNXDataType.dtype(code: type.elemType) else {
      throw malformed(
        "\(what) elem_type", expected: "one of \(ONNXDataType.supportedList)",
        found: ONNXDataType.describe(code: type.elemType))
    }
    guard type.hasShape else { return ValueInfo(name: proto.name, dtype: dtype, shape: nil) }
    let dims = try type.shape.dim.enumerated().map { axis, dim -> Dim in
      switch dim.value {
      // -1 is how some exporters write a dynamic size (onnx.checker accepts it, onnxruntime runs it).
      case .dimValue(-1)?: return .symbolic(ONNXGraphReader.unknownDim)
      case .dimValue(let n)?:
        guard n >= 0, n <= 1 << 40 else {
          throw malformed(
            "\(what) dim[\(axis)]", expected: "a dimension in 0...2^40 (or -1: dynamic)", found: "\(n)")
        }
        return .fixed(Int(n))
      case .dimParam(let name)? where !name.isEmpty: return .symbolic(name)
      default: return .symbolic(ONNXGraphReader.unknownDim)
      }
    }
    return ValueInfo(name: proto.name, dtype: dtype, shape: dims)
  }

  /// Name of a dimension ONNX leaves without value or parameter.
  static let unknownDim = "?"

  private func readNodes(_ protos: [Onnx_NodeProto], into graph: inout Graph) throws {
    var usedNames: Set<String> = []
    for (index, proto) in protos.enumerated() {
      // Unnamed or repeated node names are made unique so errors and reports can name every node.
      var name = proto.name.isEmpty ? "\(proto.opType)_\(index)" : proto.name
      if usedNames.contains(name) { name = "\(name)__\(index)" }
      usedNames.insert(name)
      guard !proto.opType.isEmpty else {
        throw malformed("node '\(name)' (#\(index))", expected: "an op_type", found: "none")
      }
      let domain = proto.domain == "ai.onnx" ? "" : proto.domain
      var attributes: [String: Attribute] = [:]
      for attribute in proto.attribute {
        guard attributes[attribute.name] == nil else {
          throw malformed(
            "node '\(name)' attribute '\(attribute.name)'", expected: "unique", found: "a duplicate")
        }
        attributes[attribute.name] = try self.attribute(attribute, node: name, opType: proto.opType)
      }
      if proto.opType == "Constant" && domain.isEmpty {
        try foldConstant(name: name, outputs: proto.output, attributes: attributes, into: &graph)
        continue
      }
      graph.nodes.append(
        Node(
          name: name, opType: proto.opType, domain: domain, inputs: proto.input, outputs: proto.output,
          attributes: attributes))
    }
  }

  /// A Constant node (ONNX Constant-13: exactly one of value, value_float(s), value_int(s), …)
  /// becomes an initializer named by its output.
  private func foldConstant(
    name: String, outputs: [String], attributes: [String: Attribute], into graph: inout Graph
  ) throws {
    guard outputs.count == 1, let output = outputs.first, !output.isEmpty else {
      throw malformed("Constant node '\(name)' outputs", expected: "1 output", found: "\(outputs)")
    }
    guard attributes.count == 1, let (key, value) = attributes.first else {
      throw malformed(
        "Constant node '\(name)' attributes", expected: "exactly one value attribute",
        found: "\(attributes.keys.sorted())")
    }
    let tensor: Tensor
    switch (key, value) {
    case ("value", .tensor(let t)): tensor = t
    case ("value_float", .float(let f)): tensor = .scalar(f)
    case ("value_floats", .floats(let fs)): tensor = Tensor(shape: [fs.count], floats: fs)
    case ("value_int", .int(let i)): tensor = Tensor(shape: [], int64s: [Int64(i)])
    case ("value_ints", .ints(let xs)): tensor = Tensor(shape: [xs.count], int64s: xs.map { Int64($0) })
    default:
      throw ModelGraphError.unsupportedAttribute(
        node: name, opType: "Constant", attribute: key, value: "\(value) (in \(file))")
    }
    guard graph.initializers[output] == nil else {
      throw malformed(
        "Constant node '\(name)' output '\(output)'", expected: "a new name", found: "an initializer")
    }
    graph.setInitializer(output, tensor)
  }

  /// Maps an AttributeProto (onnx.proto AttributeType). Sub-graphs (If/Loop/Scan bodies), sparse
  /// tensors, tensor lists and type protos have no `Attribute` case and are reported as unsupported.
  private func attribute(_ proto: Onnx_AttributeProto, node: String, opType: String) throws -> Attribute {
    func unsupported(_ what: String) -> ModelGraphError {
      .unsupportedAttribute(node: node, opType: opType, attribute: proto.name, value: "\(what) (in \(file))")
    }
    func text(_ data: Data) throws -> String {
      guard let string = String(data: data, encoding: .utf8) else {
        throw malformed(
          "node '\(node)' attribute '\(proto.name)'", expected: "UTF-8 text", found: "\(data.count) bytes")
      }
      return string
    }
    if proto.hasRefAttrName { throw unsupported("a reference to function attribute '\(proto.refAttrName)'") }
    switch try attributeType(proto, node: node) {
    case .float: return .float(proto.f)
    case .int: return .int(Int(proto.i))
    case .string: return .string(try text(proto.s))
    case .tensor:
      return .tensor(try decoder.decode(proto.t, what: "node '\(node)' attribute '\(proto.name)'"))
    case .floats: return .floats(proto.floats)
    case .ints: return .ints(proto.ints.map { Int($0) })
    case .strings: return .strings(try proto.strings.map(text))
    case .graph, .graphs:
      throw unsupported("a sub-graph (control flow such as If/Loop/Scan is not supported)")
    case .sparseTensor, .sparseTensors: throw unsupported("a sparse tensor")
    case .tensors: throw unsupported("a list of tensors")
    case .typeProto, .typeProtos: throw unsupported("a type proto")
    case .undefined: throw unsupported("an attribute without a value")
    }
  }

  /// The declared type, or (files older than IR 2) the one field that is set.
  private func attributeType(_ proto: Onnx_AttributeProto, node: String) throws
    -> Onnx_AttributeProto.AttributeType
  {
    if proto.hasType { return proto.type }
    if proto.hasF { return .float }
    if proto.hasI { return .int }
    if proto.hasS { return .string }
    if proto.hasT { return .tensor }
    if proto.hasG { return .graph }
    if !proto.floats.isEmpty { return .floats }
    if !proto.ints.isEmpty { return .ints }
    if !proto.strings.isEmpty { return .strings }
    if !proto.graphs.isEmpty { return .graphs }
    return .undefined
  }
}
