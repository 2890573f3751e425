import ModelGraph
import TensorCore

/// Dropout (ONNX Dropout-13, "inverted" dropout as in PyTorch): in training mode each element is
/// kept with probability 1 − ratio and scaled by 1/(1 − ratio); in evaluation mode y = x.
/// The keep mask comes from the forward context's seeded generator. Backward: dx = dy · mask · scale.
/// Inputs: data, ratio (optional scalar, default 0.5), training_mode (ignored: the context decides).
let dropoutOp = DifferentiableOp(nonDifferentiableInputs: [1, 2]) { node, inputs, context in
  let x = try node.input(inputs, 0)
  var ratio: Float = 0.5
  if inputs.count > 1, let r = inputs[1] { ratio = r.asFloats().first ?? 0.5 }
  guard ratio >= 0 && ratio < 1 else {
    throw node.attributeError("ratio", .float(ratio))
  }
  let wantsMask = node.outputs.count > 1 && !node.outputs[1].isEmpty
  guard context.training && ratio > 0 else {
    var outputs = [x]
    if wantsMask {
      outputs.append(try Tensor(shape: x.shape, dtype: .bool, bytes: [UInt8](repeating: 1, count: x.count)))
    }
    return OpStep(outputs: outputs) { grads in [grads[0], nil, nil] }
  }
  let scale = 1 / (1 - ratio)
  var keep = [Float](repeating: 0, count: x.count)
  for i in 0..<keep.count { keep[i] = context.rng.nextUniform() >= ratio ? scale : 0 }
  let mask = Tensor(shape: x.shape, floats: keep)
  let y = zipFloats(x, mask, *)
  var outputs = [y]
  if wantsMask {
    outputs.append(try Tensor(shape: x.shape, dtype: .bool, bytes: keep.map { $0 != 0 ? 1 : 0 }))
  }
  return OpStep(outputs: outputs) { grads in
    guard let dy = grads[0] else { return [nil, nil, nil] }
    return [zipFloats(dy, mask, *), nil, nil]
  }
}
