import Foundation

// Elementwise activations (ONNX Relu, Gelu (erf form), Tanh, Sigmoid, LeakyRelu, HardSigmoid, HardSwish,
// Clip, Erf). Fast versions run SIMD16 over the flat data (parallel when large); every one keeps a
// scalar `…Reference` built on Foundation's libm, which the tests compare against.

/// max(x, 0)
public func relu(_ x: Tensor) -> Tensor {
  mapSIMD(x, { $0.replacing(with: 0, where: $0 .< 0) }, { $0 < 0 ? 0 : $0 })
}
public func reluReference(_ x: Tensor) -> Tensor { x.map { $0 < 0 ? 0 : $0 } }

/// GELU, erf form (Hendrycks & Gimpel 2016; BERT): x·½·(1 + erf(x/√2)).
public func gelu(_ x: Tensor) -> Tensor {
  mapSIMD(
    x, { v in v * 0.5 * (1 + simdErf(v * Float(0.5).squareRoot())) },
    { v in v * 0.5 * (1 + scalarErf(v * Float(0.5).squareRoot())) })
}
public func geluReference(_ x: Tensor) -> Tensor {
  x.map { v in Float(Double(v) * 0.5 * (1 + Foundation.erf(Double(v) / 2.0.squareRoot()))) }
}

/// Gauss error function (ONNX Erf).
public func erf(_ x: Tensor) -> Tensor { mapSIMD(x, simdErf, scalarErf) }
public func erfReference(_ x: Tensor) -> Tensor { x.map { Foundation.erf($0) } }

public func tanh(_ x: Tensor) -> Tensor { mapSIMD(x, simdTanh, { Foundation.tanh($0) }) }
public func tanhReference(_ x: Tensor) -> Tensor { x.map { Foundation.tanh($0) } }

/// 1 / (1 + e^−x)
public func sigmoid(_ x: Tensor) -> Tensor { mapSIMD(x, simdSigmoid, { 1 / (1 + Foundation.exp(-$0)) }) }
public func sigmoidReference(_ x: Tensor) -> Tensor {
  x.map { Float(1 / (1 + Foundation.exp(-Double($0)))) }
}

/// x for x ≥ 0, alpha·x otherwise (ONNX default alpha 0.01).
public func leakyRelu(_ x: Tensor, alpha: Float = 0.01) -> Tensor {
  mapSIMD(x, { $0.replacing(with: $0 * alpha, where: $0 .< 0) }, { $0 < 0 ? $0 * alpha : $0 })
}
public func leakyReluReference(_ x: Tensor, alpha: Float = 0.01) -> Tensor {
  x.map { $0 < 0 ? alpha * $0 : $0 }
}

/// max(0, min(1, alpha·x + beta)) (ONNX defaults alpha 0.2, beta 0.5).
public func hardSigmoid(_ x: Tensor, alpha: Float = 0.2, beta: Float = 0.5) -> Tensor {
  mapSIMD(
    x, { simdClamp($0 * alpha + beta, 0, 1) },
    { Swift.min(1, Swift.max(0, $0 * alpha + beta)) })
}
public func hardSigmoidReference(_ x: Tensor, alpha: Float = 0.2, beta: Float = 0.5) -> Tensor {
  x.map { Swift.min(1, Swift.max(0, alpha * $0 + beta)) }
}

/// x · hardSigmoid(x, alpha 1/6, beta 0.5) (ONNX HardSwish, MobileNetV3).
public func hardSwish(_ x: Tensor) -> Tensor {
  let sixth: Float = 1.0 / 6
  return mapSIMD(
    x, { $0 * simdClamp($0 * sixth + 0.5, 0, 1) },
    { $0 * Swift.min(1, Swift.max(0, $0 * sixth + 0.5)) })
}
public func hardSwishReference(_ x: Tensor) -> Tensor {
  x.map { $0 * Swift.min(1, Swift.max(0, $0 / 6 + 0.5)) }
}

/// min(max(x, min), max) (ONNX Clip; ReLU6 is clip(x, min: 0, max: 6)).
public func clip(_ x: Tensor, min low: Float = -.infinity, max high: Float = .infinity) -> Tensor {
  let lo = SIMD16<Float>(repeating: low), hi = SIMD16<Float>(repeating: high)
  return mapSIMD(
    x, { v in v.replacing(with: lo, where: v .< lo).replacing(with: hi, where: v .> hi) },
    { v in v < low ? low : v > high ? high : v })
}
public func clipReference(_ x: Tensor, min low: Float = -.infinity, max high: Float = .infinity) -> Tensor {
  x.map { Swift.min(Swift.max($0, low), high) }
}

/// e^x, ln x, √x, |x|, −x, 1/x: ONNX unary maths on float32.
public func exp(_ x: Tensor) -> Tensor { mapSIMD(x, simdExp, { Foundation.exp($0) }) }
public func log(_ x: Tensor) -> Tensor { x.map { Foundation.log($0) } }
public func sqrt(_ x: Tensor) -> Tensor { mapSIMD(x, { $0.squareRoot() }, { $0.squareRoot() }) }
public func abs(_ x: Tensor) -> Tensor {
  mapSIMD(x, { $0.replacing(with: -$0, where: $0 .< 0) }, { Swift.abs($0) })
}
public func neg(_ x: Tensor) -> Tensor { mapSIMD(x, { -$0 }, { -$0 }) }
public func reciprocal(_ x: Tensor) -> Tensor { mapSIMD(x, { 1 / $0 }, { 1 / $0 }) }
