import ModelGraph
import TensorCore

#if canImport(Glibc)
  import Glibc
#endif

/// Sub, Mul, Div (numpy broadcasting, ONNX opset 14), Erf and Constant, forward and backward —
/// what exporters emit for decomposed GELU and attention scaling.

/// Both operands broadcast to their common shape (materialised), or a shape error.
private func broadcastPair(_ node: Node, _ inputs: [Tensor?]) throws -> (Tensor, Tensor, Tensor, Tensor) {
  let a = try node.input(inputs, 0), b = try node.input(inputs, 1)
  guard let shape = broadcastShapeOrNil(a.shape, b.shape) else {
    throw node.shapeError("shapes broadcastable with \(a.shape)", b.shape)
  }
  return (a, b, broadcastTensor(a, to: shape), broadcastTensor(b, to: shape))
}

/// Sub: Y = A − B. Backward: dA = Σ dY, dB = −Σ dY (each summed to its operand's shape).
let subOp = DifferentiableOp { node, inputs, _ in
  let (a, b, ab, bb) = try broadcastPair(node, inputs)
  return OpStep(outputs: [zipFloats(ab, bb, -)]) { grads in
    guard let dy = grads[0] else { return [nil, nil] }
    return [sumToShape(dy, a.shape), sumToShape(mapFloats(dy) { -$0 }, b.shape)]
  }
}

/// Mul: Y = A·B. Backward: dA = Σ dY·B, dB = Σ dY·A.
let mulOp = DifferentiableOp { node, inputs, _ in
  let (a, b, ab, bb) = try broadcastPair(node, inputs)
  return OpStep(outputs: [zipFloats(ab, bb, *)]) { grads in
    guard let dy = grads[0] else { return [nil, nil] }
    return [sumToShape(zipFloats(dy, bb, *), a.shape), sumToShape(zipFloats(dy, ab, *), b.shape)]
  }
}

/// Div: Y = A / B. Backward: dA = Σ dY / B, dB = −Σ dY·A / B².
let divOp = DifferentiableOp { node, inputs, _ in
  let (a, b, ab, bb) = try broadcastPair(node, inputs)
  let y = zipFloats(ab, bb, /)
  return OpStep(outputs: [y]) { grads in
    guard let dy = grads[0] else { return [nil, nil] }
    let da = zipFloats(dy, bb, /)
    let db = zipFloats(zipFloats(dy, y, *), bb) { -$0 / $1 }  // −dY·(A/B)/B
    return [sumToShape(da, a.shape), sumToShape(db, b.shape)]
  }
}

/// Erf: y = erf(x). Backward: dx = dy · 2/√π · e^(−x²).
let erfOp = DifferentiableOp { node, inputs, _ in
  let x = try node.input(inputs, 0)
  return OpStep(outputs: [mapFloats(x) { erff($0) }]) { grads in
    guard let dy = grads[0] else { return [nil] }
    let c = 2 / Float.pi.squareRoot()
    return [zipFloats(dy, x) { g, v in g * c * expf(-v * v) }]
  }
}

/// Constant: the `value` attribute (or value_float / value_floats / value_int / value_ints).
let constantOp = DifferentiableOp { node, _, _ in
  let value: Tensor
  switch (
    node.attributes["value"], node.attributes["value_float"], node.attributes["value_floats"],
    node.attributes["value_int"], node.attributes["value_ints"]
  )
  {
  case (.tensor(let t)?, _, _, _, _): value = t
  case (_, .float(let f)?, _, _, _): value = .scalar(f)
  case (_, _, .floats(let f)?, _, _): value = Tensor(shape: [f.count], floats: f)
  case (_, _, _, .int(let i)?, _): value = Tensor(shape: [], int64s: [Int64(i)])
  case (_, _, _, _, .ints(let i)?): value = Tensor(shape: [i.count], int64s: i.map { Int64($0) })
  default:
    throw TrainingError.unsupportedAttribute(
      node: node.name, opType: node.opType, attribute: "value", value: "missing")
  }
  let output = value.dtype == .float32 || value.dtype == .int64 ? value : value.converted(to: .float32)
  return OpStep(outputs: [output]) { _ in [] }
}
