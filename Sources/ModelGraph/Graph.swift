import TensorCore

/// One dimension of a value's shape: a fixed size or a named symbolic size (e.g. "batch").
public enum Dim: Sendable, Equatable, Hashable, CustomStringConvertible {
  case fixed(Int)
  case symbolic(String)

  public var description: String {
    switch self {
    case .fixed(let n): return "\(n)"
    case .symbolic(let name): return name
    }
  }

  public var value: Int? {
    if case .fixed(let n) = self { return n }
    return nil
  }
}

/// A graph input or output: name, element type and (possibly symbolic) shape.
public struct ValueInfo: Sendable, Equatable {
  public var name: String
  public var dtype: DType
  public var shape: [Dim]?

  public init(name: String, dtype: DType, shape: [Dim]?) {
    self.name = name
    self.dtype = dtype
    self.shape = shape
  }
}

/// A node attribute (ONNX AttributeProto, minus sub-graphs).
public enum Attribute: Sendable, Equatable {
  case int(Int)
  case float(Float)
  case string(String)
  case ints([Int])
  case floats([Float])
  case strings([String])
  case tensor(Tensor)
}

/// One operation. `opType`/`domain` follow ONNX ("" = default ai.onnx domain). Inputs and outputs
/// name values; an empty input name is an omitted optional input.
public struct Node: Sendable, Equatable {
  public var name: String
  public var opType: String
  public var domain: String
  public var inputs: [String]
  public var outputs: [String]
  public var attributes: [String: Attribute]

  public init(
    name: String, opType: String, domain: String = "", inputs: [String], outputs: [String],
    attributes: [String: Attribute] = [:]
  ) {
    self.name = name
    self.opType = opType
    self.domain = domain
    self.inputs = inputs
    self.outputs = outputs
    self.attributes = attributes
  }
}

/// The graph IR every module works on: topologically ordered nodes, named initializers
/// (parameters and constants), graph inputs/outputs, and pruning masks held beside the weights.
public struct Graph: Sendable, Equatable {
  public var name: String
  public var nodes: [Node]
  /// Named constant tensors (weights, biases, shape constants).
  public var initializers: [String: Tensor]
  /// Order in which initializers were declared (export keeps it; new names are appended).
  public var initializerOrder: [String]
  /// Graph inputs that are not initializers.
  public var inputs: [ValueInfo]
  public var outputs: [ValueInfo]
  /// ONNX default-domain opset the graph was written for.
  public var opsetVersion: Int
  /// Pruning masks keyed by initializer name: same shape as the weight, 1 = kept, 0 = pruned.
  public var masks: [String: Tensor]
  /// Free-form metadata (producer, source file, …).
  public var metadata: [String: String]

  public init(
    name: String = "graph", nodes: [Node] = [], initializers: [String: Tensor] = [:],
    initializerOrder: [String]? = nil, inputs: [ValueInfo] = [], outputs: [ValueInfo] = [],
    opsetVersion: Int = 17, masks: [String: Tensor] = [:], metadata: [String: String] = [:]
  ) {
    self.name = name
    self.nodes = nodes
    self.initializers = initializers
    self.initializerOrder = initializerOrder ?? initializers.keys.sorted()
    self.inputs = inputs
    self.outputs = outputs
    self.opsetVersion = opsetVersion
    self.masks = masks
    self.metadata = metadata
  }

  /// Adds or replaces an initializer, keeping declaration order.
  public mutating func setInitializer(_ name: String, _ tensor: Tensor) {
    if initializers[name] == nil { initializerOrder.append(name) }
    initializers[name] = tensor
  }

  public mutating func removeInitializer(_ name: String) {
    initializers[name] = nil
    masks[name] = nil
    initializerOrder.removeAll { $0 == name }
  }

  /// Initializers in declaration order.
  public var orderedInitializers: [(name: String, tensor: Tensor)] {
    initializerOrder.compactMap { name in initializers[name].map { (name, $0) } }
  }

  /// The node producing `value`, if any.
  public func producer(of value: String) -> Node? {
    nodes.first { $0.outputs.contains(value) }
  }

  /// Nodes reading `value`.
  public func consumers(of value: String) -> [Node] {
    nodes.filter { $0.inputs.contains(value) }
  }
}
