import TensorCore

/// What one op implementation sees: the node, the graph's opset, and its input tensors
/// (`nil` for an omitted optional input, i.e. an empty name in `node.inputs`).
///
/// Inputs whose value is not used after this node are handed over uniquely referenced, so an
/// implementation that calls `takeInput(_:)` may overwrite the storage in place without a copy.
public struct OpContext {
  public let node: Node
  /// Default-domain (ai.onnx) opset of the graph.
  public let opset: Int
  public var inputs: [Tensor?]
  /// ONNX sequence values among the inputs (same indices as `inputs`, whose entry is then nil);
  /// empty for ops that take none.
  public var sequenceInputs: [[Tensor]?] = []
  /// Sequence values an op produces, by output index (the returned tensor at that index is a
  /// placeholder the executor ignores).
  public var sequenceOutputs: [Int: [Tensor]] = [:]

  public init(node: Node, opset: Int, inputs: [Tensor?]) {
    self.node = node
    self.opset = opset
    self.inputs = inputs
  }

  /// Required sequence input `index`; throws naming the node when it is absent or a tensor.
  public func sequenceInput(_ index: Int) throws -> [Tensor] {
    guard index < sequenceInputs.count, let sequence = sequenceInputs[index] else {
      let name = index < node.inputs.count ? node.inputs[index] : "#\(index)"
      throw ModelGraphError.invalidModel(
        "node '\(node.name)' (\(node.opType)): input '\(name)' must be a sequence, found "
          + (index < inputs.count && inputs[index] != nil ? "a tensor" : "nothing"))
    }
    return sequence
  }

  public var inputCount: Int { inputs.count }

  /// Required input `index`; throws `missingValue` naming the node when it is absent.
  public func input(_ index: Int) throws -> Tensor {
    guard index < inputs.count, let tensor = inputs[index] else {
      let name = index < node.inputs.count ? node.inputs[index] : "#\(index)"
      throw ModelGraphError.missingValue(node: node.name, name: name.isEmpty ? "#\(index)" : name)
    }
    return tensor
  }

  public func optionalInput(_ index: Int) -> Tensor? {
    index < inputs.count ? inputs[index] : nil
  }

  /// Moves input `index` out of the context (for in-place updates): afterwards it is `nil` here.
  public mutating func takeInput(_ index: Int) throws -> Tensor {
    let tensor = try input(index)
    inputs[index] = nil
    return tensor
  }

  // MARK: attributes

  public func hasAttribute(_ name: String) -> Bool { node.attributes[name] != nil }

  public func int(_ name: String, default value: Int) throws -> Int {
    try intIfPresent(name) ?? value
  }

  public func intIfPresent(_ name: String) throws -> Int? {
    switch node.attributes[name] {
    case nil: return nil
    case .int(let v): return v
    case let other?: throw attributeError(name, other, expected: "int")
    }
  }

  public func float(_ name: String, default value: Float) throws -> Float {
    switch node.attributes[name] {
    case nil: return value
    case .float(let v): return v
    case .int(let v): return Float(v)
    case let other?: throw attributeError(name, other, expected: "float")
    }
  }

  public func floatIfPresent(_ name: String) throws -> Float? {
    node.attributes[name] == nil ? nil : try float(name, default: 0)
  }

  public func string(_ name: String, default value: String) throws -> String {
    switch node.attributes[name] {
    case nil: return value
    case .string(let v): return v
    case let other?: throw attributeError(name, other, expected: "string")
    }
  }

  public func ints(_ name: String) throws -> [Int]? {
    switch node.attributes[name] {
    case nil: return nil
    case .ints(let v): return v
    case .int(let v): return [v]
    case let other?: throw attributeError(name, other, expected: "ints")
    }
  }

  public func floats(_ name: String) throws -> [Float]? {
    switch node.attributes[name] {
    case nil: return nil
    case .floats(let v): return v
    case .float(let v): return [v]
    case let other?: throw attributeError(name, other, expected: "floats")
    }
  }

  public func tensorAttribute(_ name: String) -> Tensor? {
    if case .tensor(let t)? = node.attributes[name] { return t }
    return nil
  }

  // MARK: errors

  /// `unsupportedAttribute` for this node.
  public func unsupported(_ attribute: String, _ value: String) -> ModelGraphError {
    .unsupportedAttribute(node: node.name, opType: node.opType, attribute: attribute, value: value)
  }

  public func shapeError(expected: String, found: String) -> ModelGraphError {
    .shapeMismatch(node: node.name, expected: expected, found: found)
  }

  public func dtypeError(input index: Int, expected: String, found: DType) -> ModelGraphError {
    let name = index < node.inputs.count ? node.inputs[index] : "#\(index)"
    return .dtypeMismatch(node: node.name, name: name, expected: expected, found: found.rawValue)
  }

  private func attributeError(_ name: String, _ value: Attribute, expected: String) -> ModelGraphError {
    unsupported(name, "\(value) (expected \(expected))")
  }

  /// A Float32 input; throws `dtypeMismatch` naming the input otherwise.
  public func floatInput(_ index: Int) throws -> Tensor {
    let t = try input(index)
    guard t.dtype == .float32 else { throw dtypeError(input: index, expected: "float32", found: t.dtype) }
    return t
  }

  /// An integer input read as Int values (shape/axes/indices inputs).
  public func intValues(_ index: Int) throws -> [Int] {
    let t = try input(index)
    guard !t.dtype.isFloatingPoint else {
      throw dtypeError(input: index, expected: "an integer type", found: t.dtype)
    }
    return t.asInt64s().map { Int($0) }
  }

  /// Normalises a possibly negative axis against `rank`; throws when out of range.
  public func axis(_ axis: Int, rank: Int) throws -> Int {
    let a = axis < 0 ? axis + rank : axis
    guard a >= 0, a < max(rank, 1) else { throw unsupported("axis", "\(axis) for rank \(rank)") }
    return a
  }
}
