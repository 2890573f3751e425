import Foundation
import SwiftProtobuf
import TensorCore

/// Writes a `Graph` as an ONNX model (onnx.proto `ModelProto`).
///
/// Initializers are written as `raw_data` (little-endian), or — when `externalDataFile` is set — those of
/// at least `externalThreshold` bytes go to that file beside the model (onnx.proto "External data":
/// `location`, `offset`, `length`; offsets aligned to `externalAlignment`). Protobuf cannot hold more
/// than 2 GiB, so larger inline models are refused with a hint to use external data.
/// Masks in `graph.masks` are not written: apply them to the weights first if the file must carry them.
public enum ONNXExporter {
  public struct Options: Sendable {
    /// File name (relative to the model's folder) for external tensor data; nil = everything inline.
    public var externalDataFile: String?
    /// Tensors smaller than this stay inline even when `externalDataFile` is set. Bytes.
    public var externalThreshold: Int
    public var externalAlignment: Int

    public init(externalDataFile: String? = nil, externalThreshold: Int = 1024, externalAlignment: Int = 64) {
      self.externalDataFile = externalDataFile
      self.externalThreshold = externalThreshold
      self.externalAlignment = externalAlignment
    }
  }

  /// Largest serialized model protobuf accepts (2^31 − 1 bytes).
  static let protobufLimit = Int(Int32.max)

  /// Validates `graph`, then writes it to `path` (and the external data file, if any) atomically.
  public static func save(_ graph: Graph, to path: String, options: Options = Options()) throws {
    var external: [UInt8]? = options.externalDataFile == nil ? nil : []
    let model = try modelProto(graph, options: options, external: &external, file: path)
    let data = try serialize(model, file: path)
    if let external, let name = options.externalDataFile {
      let folder = (path as NSString).deletingLastPathComponent
      try AtomicFile.write(
        Data(external), to: ((folder.isEmpty ? "." : folder) as NSString).appendingPathComponent(name))
    }
    try AtomicFile.write(data, to: path)
  }

  /// Serialized ModelProto bytes with every tensor inline.
  public static func serialized(_ graph: Graph) throws -> Data {
    var external: [UInt8]?
    return try serialize(
      modelProto(graph, options: Options(), external: &external, file: "<memory>"), file: "<memory>")
  }

  private static func serialize(_ model: Onnx_ModelProto, file: String) throws -> Data {
    let data: Data
    do {
      data = try model.serializedBytes()
    } catch {
      throw ModelGraphError.unwritable(path: file, reason: "cannot serialize the model: \(error)")
    }
    guard data.count <= protobufLimit else {
      throw ModelGraphError.malformed(
        file: file, at: "ModelProto", expected: "≤ 2 GiB inline (use Options.externalDataFile)",
        found: "\(data.count) bytes")
    }
    return data
  }

  /// IR version for an opset (onnx.helper.VERSION_TABLE): at least 8, as the task fixes.
  static func irVersion(forOpset opset: Int) -> Int64 {
    switch opset {
    case ...18: return 8
    case 19...20: return 9
    case 21...22: return 10
    case 23: return 11
    case 24: return 12
    case 25...27: return 13
    default: return 14
    }
  }

  static func modelProto(_ graph: Graph, options: Options, external: inout [UInt8]?, file: String) throws
    -> Onnx_ModelProto
  {
    try graph.validate()
    var model = Onnx_ModelProto()
    model.irVersion = irVersion(forOpset: graph.opsetVersion)
    model.producerName = "PruneKit"
    model.opsetImport = opsetImports(graph)
    model.metadataProps = graph.metadata.keys.sorted().filter { !$0.hasPrefix("onnx.") }.map { key in
      var entry = Onnx_StringStringEntryProto()
      entry.key = key
      entry.value = graph.metadata[key]!
      return entry
    }
    var proto = Onnx_GraphProto()
    proto.name = graph.name
    proto.node = graph.nodes.map(nodeProto)
    for (name, tensor) in graph.orderedInitializers {
      let bytes = tensor.rawBytes
      var tensorProto = tensorProto(tensor, name: name, bytes: bytes)
      if var blob = external, let location = options.externalDataFile,
        bytes.count >= options.externalThreshold
      {
        external = nil  // drop the second reference so appends do not copy the blob
        tensorProto.clearRawData()
        let alignment = max(options.externalAlignment, 1)
        blob.append(contentsOf: repeatElement(0, count: (alignment - blob.count % alignment) % alignment))
        tensorProto.dataLocation = .external
        tensorProto.externalData = [
          entry("location", location), entry("offset", "\(blob.count)"), entry("length", "\(bytes.count)"),
        ]
        blob.append(contentsOf: bytes)
        external = blob
      }
      proto.initializer.append(tensorProto)
    }
    proto.input = graph.inputs.map(valueInfoProto)
    proto.output = graph.outputs.map(valueInfoProto)
    model.graph = proto
    return model
  }

  private static func entry(_ key: String, _ value: String) -> Onnx_StringStringEntryProto {
    var entry = Onnx_StringStringEntryProto()
    entry.key = key
    entry.value = value
    return entry
  }

  /// ai.onnx at `graph.opsetVersion`, the domains recorded in metadata, and version 1 for any other
  /// domain a node uses.
  private static func opsetImports(_ graph: Graph) -> [Onnx_OperatorSetIdProto] {
    var versions: [String: Int64] = ["": Int64(graph.opsetVersion)]
    let prefix = "onnx.opset."
    for (key, value) in graph.metadata where key.hasPrefix(prefix) {
      versions[String(key.dropFirst(prefix.count))] = Int64(value) ?? 1
    }
    for node in graph.nodes where versions[node.domain] == nil { versions[node.domain] = 1 }
    return versions.keys.sorted().map { domain in
      var opset = Onnx_OperatorSetIdProto()
      opset.domain = domain
      opset.version = versions[domain]!
      return opset
    }
  }

  static func tensorProto(_ tensor: Tensor, name: String, bytes: [UInt8]? = nil) -> Onnx_TensorProto {
    var proto = Onnx_TensorProto()
    proto.name = name
    proto.dims = tensor.shape.map { Int64($0) }
    proto.dataType = ONNXDataType.code(of: tensor.dtype)
    proto.rawData = Data(bytes ?? tensor.rawBytes)
    return proto
  }

  private static func nodeProto(_ node: Node) -> Onnx_NodeProto {
    var proto = Onnx_NodeProto()
    proto.name = node.name
    proto.opType = node.opType
    if !node.domain.isEmpty { proto.domain = node.domain }
    proto.input = node.inputs
    proto.output = node.outputs
    proto.attribute = node.attributes.keys.sorted().map { attributeProto(name: $0, node.attributes[$0]!) }
    return proto
  }

  private static func attributeProto(name: String, _ attribute: Attribute) -> Onnx_AttributeProto {
    var proto = Onnx_AttributeProto()
    proto.name = name
    switch attribute {
    case .int(let value): proto.type = .int; proto.i = Int64(value)
    case .float(let value): proto.type = .float; proto.f = value
    case .string(let value): proto.type = .string; proto.s = Data(value.utf8)
    case .ints(let values): proto.type = .ints; proto.ints = values.map { Int64($0) }
    case .floats(let values): proto.type = .floats; proto.floats = values
    case .strings(let values): proto.type = .strings; proto.strings = values.map { Data($0.utf8) }
    case .tensor(let tensor): proto.type = .tensor; proto.t = tensorProto(tensor, name: "")
    }
    return proto
  }

  private static func valueInfoProto(_ info: ValueInfo) -> Onnx_ValueInfoProto {
    var tensorType = Onnx_TypeProto.Tensor()
    tensorType.elemType = ONNXDataType.code(of: info.dtype)
    if let shape = info.shape {
      var shapeProto = Onnx_TensorShapeProto()
      shapeProto.dim = shape.map { dim in
        var proto = Onnx_TensorShapeProto.Dimension()
        switch dim {
        case .fixed(let n): proto.dimValue = Int64(n)
        case .symbolic(let name) where name != ONNXGraphReader.unknownDim: proto.dimParam = name
        case .symbolic: break
        }
        return proto
      }
      tensorType.shape = shapeProto
    }
    var proto = Onnx_ValueInfoProto()
    proto.name = info.name
    proto.type.tensorType = tensorType
    return proto
  }
}
