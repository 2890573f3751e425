import ModelGraph
import TensorCore

/// Flatten, Reshape, Identity, Concat (ONNX Flatten-13, Reshape-14, Concat-13), forward and backward.
/// The first three only relabel the shape; their backward reshapes dy back to the input's shape.

/// Flatten: [d0, …, dr−1] → [d0·…·d(axis−1), d(axis)·…·d(r−1)] (axis default 1).
let flattenOp = DifferentiableOp { node, inputs, _ in
  let x = try node.input(inputs, 0)
  let axis = try normalizedAxis(try node.int("axis", default: 1), rank: x.rank + 1, node: node)
  let outer = x.shape[..<axis].reduce(1, *)
  let y = try x.reshaped([outer, x.count / max(outer, 1)])
  return OpStep(outputs: [y]) { grads in [try grads[0].map { try $0.reshaped(x.shape) }] }
}

/// Reshape: input 1 is the int64 target shape; 0 copies the input's dimension (unless allowzero),
/// −1 is inferred.
let reshapeOp = DifferentiableOp(nonDifferentiableInputs: [1]) { node, inputs, _ in
  let x = try node.input(inputs, 0)
  guard inputs.count > 1, let spec = inputs[1], spec.dtype == .int64 else {
    throw TrainingError.missingValue(node: node.name, name: node.inputs.count > 1 ? node.inputs[1] : "shape")
  }
  let allowZero = try node.int("allowzero", default: 0) != 0
  var shape = spec.int64s.map { Int($0) }
  for i in shape.indices where shape[i] == 0 && !allowZero {
    guard i < x.rank else { throw node.shapeError("dimension \(i) to copy", x.shape) }
    shape[i] = x.shape[i]
  }
  if let inferred = shape.firstIndex(of: -1) {
    let known = shape.enumerated().filter { $0.offset != inferred }.map(\.element).reduce(1, *)
    guard known > 0, x.count % known == 0 else { throw node.shapeError("\(shape)", x.shape) }
    shape[inferred] = x.count / known
  }
  guard shape.reduce(1, *) == x.count else { throw node.shapeError("\(shape)", x.shape) }
  let y = try x.reshaped(shape)
  return OpStep(outputs: [y]) { grads in [try grads[0].map { try $0.reshaped(x.shape) }, nil] }
}

let identityOp = DifferentiableOp { node, inputs, _ in
  let x = try node.input(inputs, 0)
  return OpStep(outputs: [x]) { grads in [grads[0]] }
}

/// Concat along `axis`. Backward: dy split into the inputs' extents along the axis.
let concatOp = DifferentiableOp { node, inputs, _ in
  let xs = try inputs.indices.map { try node.input(inputs, $0) }
  guard let first = xs.first else { throw node.shapeError("at least one input", []) }
  let axis = try normalizedAxis(try node.int("axis", default: 0), rank: first.rank, node: node)
  for x in xs
  where x.rank != first.rank || x.shape[..<axis] != first.shape[..<axis]
    || x.shape[(axis + 1)...] != first.shape[(axis + 1)...]
  {
    throw node.shapeError("\(first.shape) except along axis \(axis)", x.shape)
  }
  let outer = first.shape[..<axis].reduce(1, *)
  let inner = first.shape[(axis + 1)...].reduce(1, *)
  let extents = xs.map { $0.shape[axis] * inner }  // elements per outer row, per input
  let rowSize = extents.reduce(0, +)
  var y = [Float](repeating: 0, count: outer * rowSize)
  var offset = 0
  for (x, extent) in zip(xs, extents) {
    let v = x.floats
    for o in 0..<outer {
      for i in 0..<extent { y[o * rowSize + offset + i] = v[o * extent + i] }
    }
    offset += extent
  }
  var shape = first.shape
  shape[axis] = xs.map { $0.shape[axis] }.reduce(0, +)
  return OpStep(outputs: [Tensor(shape: shape, floats: y)]) { grads in
    guard let dy = grads[0]?.floats else { return xs.map { _ in nil } }
    var result: [Tensor?] = []
    var offset = 0
    for (x, extent) in zip(xs, extents) {
      var dx = [Float](repeating: 0, count: outer * extent)
      for o in 0..<outer {
        for i in 0..<extent { dx[o * extent + i] = dy[o * rowSize + offset + i] }
      }
      offset += extent
      result.append(Tensor(shape: x.shape, floats: dx))
    }
    return result
  }
}
