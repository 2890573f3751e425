import ModelGraph
import TensorCore

#if canImport(Glibc)
  import Glibc
#endif

/// Relu and Gelu (ONNX Relu-14, Gelu-20), forward and backward.

/// Relu: y = max(x, 0). Backward: dx = dy where x > 0, else 0.
let reluOp = DifferentiableOp { node, inputs, _ in
  let x = try node.input(inputs, 0)
  let y = mapFloats(x) { $0 > 0 ? $0 : 0 }
  return OpStep(outputs: [y]) { grads in
    guard let dy = grads[0] else { return [nil] }
    return [zipFloats(dy, x) { g, v in v > 0 ? g : 0 }]
  }
}

/// Gelu, exact: y = x·Φ(x), Φ(x) = ½(1 + erf(x/√2)); dy/dx = Φ(x) + x·φ(x), φ = e^(−x²/2)/√(2π).
/// approximate = "tanh" (Hendrycks & Gimpel 2016): y = ½x(1 + tanh(u)), u = √(2/π)(x + 0.044715x³);
/// dy/dx = ½(1 + tanh u) + ½x(1 − tanh²u)·√(2/π)(1 + 3·0.044715x²).
let geluOp = DifferentiableOp { node, inputs, _ in
  let x = try node.input(inputs, 0)
  let approximate = try node.string("approximate", default: "none")
  guard approximate == "none" || approximate == "tanh" else {
    throw TrainingError.unsupportedAttribute(
      node: node.name, opType: node.opType, attribute: "approximate", value: approximate)
  }
  let useTanh = approximate == "tanh"
  let c = Float((2 / Double.pi).squareRoot())
  let y = mapFloats(x) { v in
    if useTanh { return 0.5 * v * (1 + tanhf(c * (v + 0.044715 * v * v * v))) }
    return 0.5 * v * (1 + erff(v / Float(2).squareRoot()))
  }
  return OpStep(outputs: [y]) { grads in
    guard let dy = grads[0] else { return [nil] }
    return [
      zipFloats(dy, x) { g, v in
        if useTanh {
          let t = tanhf(c * (v + 0.044715 * v * v * v))
          return g * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * c * (1 + 3 * 0.044715 * v * v))
        }
        let cdf = 0.5 * (1 + erff(v / Float(2).squareRoot()))
        let pdf = expf(-0.5 * v * v) / Float(2 * Double.pi).squareRoot()
        return g * (cdf + v * pdf)
      }
    ]
  }
}
