import ModelGraph
import TensorCore

/// The `graph` section: everything of a `Graph` except the weights of compressed layers — name,
/// opset, metadata, inputs, outputs, nodes with attributes, initializers in declaration order (raw
/// tensors, or a reference to a compressed layer) and the masks not restored from a layer.
/// Dictionaries are written in sorted key order, so the same graph always gives the same bytes.
enum GraphCodec {
  static let rawTensor: UInt8 = 1
  static let compressedSlot: UInt8 = 2

  static func encode(_ graph: Graph, compressed: Set<String>) -> [UInt8] {
    var w = ByteWriter()
    w.string(graph.name)
    w.varint(graph.opsetVersion)
    w.varint(graph.metadata.count)
    for (k, v) in graph.metadata.sorted(by: { $0.key < $1.key }) {
      w.string(k)
      w.string(v)
    }
    for list in [graph.inputs, graph.outputs] {
      w.varint(list.count)
      for info in list { writeValueInfo(info, &w) }
    }
    w.varint(graph.nodes.count)
    for node in graph.nodes { writeNode(node, &w) }
    let order = graph.orderedInitializers
    w.varint(order.count)
    for (name, tensor) in order {
      w.string(name)
      if compressed.contains(name) {
        w.u8(compressedSlot)
      } else {
        w.u8(rawTensor)
        writeTensor(tensor, &w)
      }
    }
    let rawMasks = graph.masks.filter { !compressed.contains($0.key) }.sorted { $0.key < $1.key }
    w.varint(rawMasks.count)
    for (name, mask) in rawMasks {
      w.string(name)
      writeTensor(mask, &w)
    }
    return w.bytes
  }

  static func writeTensor(_ t: Tensor, _ w: inout ByteWriter) {
    w.u8(PKZFormat.code(of: t.dtype))
    w.varint(t.shape.count)
    for d in t.shape { w.varint(d) }
    w.raw(t.rawBytes)
  }

  static func writeValueInfo(_ info: ValueInfo, _ w: inout ByteWriter) {
    w.string(info.name)
    w.u8(PKZFormat.code(of: info.dtype))
    guard let shape = info.shape else { return w.u8(0) }
    w.u8(1)
    w.varint(shape.count)
    for d in shape {
      switch d {
      case .fixed(let n):
        w.u8(1)
        w.zigzag(n)
      case .symbolic(let s):
        w.u8(2)
        w.string(s)
      }
    }
  }

  static func writeNode(_ node: Node, _ w: inout ByteWriter) {
    w.string(node.name)
    w.string(node.opType)
    w.string(node.domain)
    for list in [node.inputs, node.outputs] {
      w.varint(list.count)
      for s in list { w.string(s) }
    }
    w.varint(node.attributes.count)
    for (key, value) in node.attributes.sorted(by: { $0.key < $1.key }) {
      w.string(key)
      switch value {
      case .int(let v):
        w.u8(1)
        w.zigzag(v)
      case .float(let v):
        w.u8(2)
        w.f32(v)
      case .string(let v):
        w.u8(3)
        w.string(v)
      case .ints(let v):
        w.u8(4)
        w.varint(v.count)
        for x in v { w.zigzag(x) }
      case .floats(let v):
        w.u8(5)
        w.varint(v.count)
        w.floats(v)
      case .strings(let v):
        w.u8(6)
        w.varint(v.count)
        for x in v { w.string(x) }
      case .tensor(let t):
        w.u8(7)
        writeTensor(t, &w)
      }
    }
  }

  /// The decoded section: a graph whose compressed initializers are still missing, and their names
  /// (in declaration order, so `setInitializer` is not needed to keep the order).
  static func decode(_ r: inout ByteReader) throws -> (graph: Graph, slots: [String]) {
    var graph = Graph(name: try r.string())
    graph.opsetVersion = try r.count("opset version", limit: 10_000)
    for _ in 0..<(try r.count("metadata count", limit: r.remaining)) {
      let key = try r.string()
      graph.metadata[key] = try r.string()
    }
    graph.inputs = try (0..<(try r.count("input count", limit: r.remaining))).map { _ in try readValueInfo(&r)
    }
    graph.outputs = try (0..<(try r.count("output count", limit: r.remaining))).map { _ in
      try readValueInfo(&r)
    }
    graph.nodes = try (0..<(try r.count("node count", limit: r.remaining))).map { _ in try readNode(&r) }
    var slots = [String]()
    graph.initializerOrder = []
    for _ in 0..<(try r.count("initializer count", limit: r.remaining)) {
      let name = try r.string()
      graph.initializerOrder.append(name)
      let at = r.fileOffset
      switch try r.u8() {
      case rawTensor: graph.initializers[name] = try readTensor(&r)
      case compressedSlot: slots.append(name)
      case let kind:
        throw CompressionError.unknownCode(
          section: r.section, offset: at, kind: "initializer kind", code: Int(kind))
      }
    }
    for _ in 0..<(try r.count("mask count", limit: r.remaining)) {
      let name = try r.string()
      graph.masks[name] = try readTensor(&r)
    }
    guard r.isAtEnd else {
      throw r.corrupt(expected: "end of the graph section", found: "\(r.remaining) more bytes")
    }
    return (graph, slots)
  }

  static func readTensor(_ r: inout ByteReader) throws -> Tensor {
    let at = r.fileOffset
    let dtype = try PKZFormat.dtype(code: try r.u8(), r, at: at)
    let rank = try r.count("tensor rank", limit: 16)
    var shape = [Int]()
    var elements = 1
    for _ in 0..<rank {
      let d = try r.count("dimension", limit: r.remaining)
      shape.append(d)
      elements = elements.multipliedReportingOverflow(by: d).overflow ? Int.max : elements * d
    }
    guard elements <= r.remaining / dtype.byteWidth else {
      throw CompressionError.truncated(
        section: r.section, offset: r.fileOffset, needed: elements * dtype.byteWidth, available: r.remaining)
    }
    return try Tensor(shape: shape, dtype: dtype, bytes: try r.raw(elements * dtype.byteWidth))
  }

  static func readValueInfo(_ r: inout ByteReader) throws -> ValueInfo {
    let name = try r.string()
    let at = r.fileOffset
    let dtype = try PKZFormat.dtype(code: try r.u8(), r, at: at)
    guard try r.u8() == 1 else { return ValueInfo(name: name, dtype: dtype, shape: nil) }
    var dims = [Dim]()
    for _ in 0..<(try r.count("rank", limit: 64)) {
      let tagAt = r.fileOffset
      switch try r.u8() {
      case 1: dims.append(.fixed(try r.zigzag()))
      case 2: dims.append(.symbolic(try r.string()))
      case let tag:
        throw CompressionError.unknownCode(section: r.section, offset: tagAt, kind: "dim", code: Int(tag))
      }
    }
    return ValueInfo(name: name, dtype: dtype, shape: dims)
  }

  static func readNode(_ r: inout ByteReader) throws -> Node {
    let name = try r.string()
    let opType = try r.string()
    let domain = try r.string()
    let inputs = try (0..<(try r.count("node inputs", limit: r.remaining))).map { _ in try r.string() }
    let outputs = try (0..<(try r.count("node outputs", limit: r.remaining))).map { _ in try r.string() }
    var attributes = [String: Attribute]()
    for _ in 0..<(try r.count("attribute count", limit: r.remaining)) {
      let key = try r.string()
      let at = r.fileOffset
      switch try r.u8() {
      case 1: attributes[key] = .int(try r.zigzag())
      case 2: attributes[key] = .float(try r.f32())
      case 3: attributes[key] = .string(try r.string())
      case 4:
        attributes[key] = .ints(
          try (0..<(try r.count("ints", limit: r.remaining))).map { _ in try r.zigzag() })
      case 5: attributes[key] = .floats(try r.floats(try r.count("floats", limit: r.remaining)))
      case 6:
        attributes[key] = .strings(
          try (0..<(try r.count("strings", limit: r.remaining))).map { _ in try r.string() })
      case 7: attributes[key] = .tensor(try readTensor(&r))
      case let tag:
        throw CompressionError.unknownCode(section: r.section, offset: at, kind: "attribute", code: Int(tag))
      }
    }
    return Node(
      name: name, opType: opType, domain: domain, inputs: inputs, outputs: outputs, attributes: attributes)
  }
}
