import ModelGraph
import TensorCore

/// Attribute and input access shared by the op files: each failure names the node.
extension Node {
  func int(_ key: String, default value: Int) throws -> Int {
    switch attributes[key] {
    case nil: return value
    case .int(let v): return v
    case let other?: throw attributeError(key, other)
    }
  }

  func float(_ key: String, default value: Float) throws -> Float {
    switch attributes[key] {
    case nil: return value
    case .float(let v): return v
    case .int(let v): return Float(v)
    case let other?: throw attributeError(key, other)
    }
  }

  func ints(_ key: String) throws -> [Int]? {
    switch attributes[key] {
    case nil: return nil
    case .ints(let v): return v
    case let other?: throw attributeError(key, other)
    }
  }

  func string(_ key: String, default value: String) throws -> String {
    switch attributes[key] {
    case nil: return value
    case .string(let v): return v
    case let other?: throw attributeError(key, other)
    }
  }

  func attributeError(_ key: String, _ value: Attribute) -> TrainingError {
    .unsupportedAttribute(node: name, opType: opType, attribute: key, value: "\(value)")
  }

  /// Input `index`, which must be present and float32.
  func input(_ inputs: [Tensor?], _ index: Int) throws -> Tensor {
    guard index < inputs.count, let t = inputs[index] else {
      throw TrainingError.missingValue(
        node: name, name: index < self.inputs.count ? self.inputs[index] : "#\(index)")
    }
    guard t.dtype == .float32 else {
      throw TrainingError.invalidArgument(
        what: "node '\(name)' (\(opType)) input \(index)", message: "expected float32, found \(t.dtype)")
    }
    return t
  }

  func optionalInput(_ inputs: [Tensor?], _ index: Int) throws -> Tensor? {
    guard index < inputs.count, inputs[index] != nil else { return nil }
    return try input(inputs, index)
  }

  func shapeError(_ expected: String, _ found: [Int]) -> TrainingError {
    .shapeMismatch(node: name, expected: expected, found: "\(found)")
  }
}

/// An axis in -rank..<rank normalised to 0..<rank.
func normalizedAxis(_ axis: Int, rank: Int, node: Node) throws -> Int {
  let a = axis < 0 ? axis + rank : axis
  guard a >= 0 && a < max(rank, 1) else {
    throw TrainingError.unsupportedAttribute(
      node: node.name, opType: node.opType, attribute: "axis", value: "\(axis) for rank \(rank)")
  }
  return a
}

/// Applies `f` to every element (elementwise forward or backward helpers).
func mapFloats(_ t: Tensor, _ f: (Float) -> Float) -> Tensor {
  Tensor(shape: t.shape, floats: t.floats.map(f))
}

/// Elementwise combination of two same-shape tensors.
func zipFloats(_ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
  precondition(a.shape == b.shape, "zipFloats: \(a.shape) vs \(b.shape)")
  let x = a.floats, y = b.floats
  var out = [Float](repeating: 0, count: x.count)
  for i in 0..<x.count { out[i] = f(x[i], y[i]) }
  return Tensor(shape: a.shape, floats: out)
}

/// Pointer access to several arrays at once (kernels in the op files).
@inline(__always)
func withPointers<R>(
  _ a: [Float], _ b: inout [Float], _ body: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> R
) -> R {
  a.withUnsafeBufferPointer { pa in
    b.withUnsafeMutableBufferPointer { pb in body(pa.baseAddress!, pb.baseAddress!) }
  }
}
