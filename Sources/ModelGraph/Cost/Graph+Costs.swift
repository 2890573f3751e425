import TensorCore

/// How node costs are counted.
public enum CostModel {
  /// FLOPs per output element of ops without MACs. Approximate for transcendental ops (one
  /// evaluation of exp/erf/tanh counted as one FLOP); documented so reports can cite it.
  public static let flopsPerElement: [String: Int] = [
    "Add": 1, "Sub": 1, "Mul": 1, "Div": 1, "Pow": 1, "Sqrt": 1, "Neg": 1, "Exp": 1, "Log": 1, "Abs": 1,
    "Reciprocal": 1, "Min": 1, "Max": 1, "Sum": 1, "Relu": 1, "LeakyRelu": 2, "Erf": 1, "Tanh": 1,
    "Sigmoid": 3, "HardSigmoid": 3, "HardSwish": 4, "Clip": 2, "Gelu": 5, "Elu": 3, "Softplus": 3,
    // Softmax: max, subtract, exp, sum, divide. LayerNorm: mean, centre, square, sum, scale, shift…
    "Softmax": 5, "LogSoftmax": 5, "LayerNormalization": 8, "BatchNormalization": 2,
    "InstanceNormalization": 8, "ReduceMean": 1, "ReduceSum": 1, "ReduceMax": 1, "ReduceMin": 1,
    "ReduceL2": 2, "ReduceSumSquare": 2, "Resize": 4, "PRelu": 2, "Mish": 5, "Selu": 3, "Celu": 3,
    "Softsign": 3, "Mean": 1,
  ]
}

extension Graph {
  /// Per-node parameters, MACs, FLOPs, weight and activation bytes and weight sparsity for one
  /// run at `inputShapes` (graph inputs not named there use their declared sizes, symbolic = 1).
  /// Sparsity counts weight elements that are zero or whose `masks` entry is 0.
  ///
  /// LeNet-300-100 at batch 1: 784·300 + 300·100 + 100·10 = 266,200 MACs.
  public func costs(
    inputShapes: [String: [Int]] = [:], selector: any KernelSelector
  ) throws -> GraphCost {
    let shapes = try concreteShapes(inputShapes: inputShapes, selector: selector)
    var zeroCache: [String: Int] = [:]
    func zeros(_ name: String) -> Int {
      if let z = zeroCache[name] { return z }
      let t = initializers[name]!
      let values = t.asFloats()
      let mask = masks[name].map { $0.asFloats() }
      var z = 0
      for i in values.indices where values[i] == 0 || (mask.map { i < $0.count && $0[i] == 0 } ?? false) {
        z += 1
      }
      zeroCache[name] = z
      return z
    }
    // Float weights, and the int8 weights of quantized linear layers (their scales count as bytes).
    func isParameter(_ t: Tensor) -> Bool {
      (t.dtype.isFloatingPoint && t.rank >= 1) || ((t.dtype == .int8 || t.dtype == .uint8) && t.rank >= 2)
    }
    var nodes: [NodeCost] = []
    for node in self.nodes {
      var cost = NodeCost(node: node.name, opType: node.opType)
      for name in node.inputs where !name.isEmpty {
        if let w = initializers[name] {
          cost.weights.append(name)
          cost.weightBytes += w.count * w.dtype.byteWidth
          if isParameter(w) {
            cost.parameters += w.count
            cost.nonzeroParameters += w.count - zeros(name)
          }
        } else if let a = shapes[name] {
          cost.activationBytesRead = satAdd(cost.activationBytesRead, satMul(product(a.shape), a.dtype.byteWidth))
        }
      }
      let outs = node.outputs.compactMap { shapes[$0] }
      cost.outputShapes = outs.map(\.shape)
      cost.activationBytesWritten = outs.reduce(0) { satAdd($0, satMul(product($1.shape), $1.dtype.byteWidth)) }
      let outCount = outs.first.map { product($0.shape) } ?? 0
      let inShape = { (i: Int) -> [Int] in
        i < node.inputs.count ? (shapes[node.inputs[i]]?.shape ?? []) : []
      }
      switch node.opType {
      case "MatMul", "Gemm", "MatMulInteger":
        let a = inShape(0)
        let transA = node.attributes["transA"] == .int(1)
        let k = node.opType == "Gemm" && transA ? (a.first ?? 0) : (a.last ?? 0)
        cost.macs = satMul(outCount, k)
        if node.inputs.count > 2, !node.inputs[2].isEmpty { cost.flops += outCount }
      case "Conv":
        let w = inShape(1)
        cost.macs = satMul(outCount, product(w.dropFirst()))
        if node.inputs.count > 2, !node.inputs[2].isEmpty { cost.flops += outCount }
      case "ConvTranspose":
        let w = inShape(1)
        cost.macs = satMul(product(inShape(0)), product(w.dropFirst()))
        if node.inputs.count > 2, !node.inputs[2].isEmpty { cost.flops += outCount }
      case "MaxPool", "AveragePool":
        if case .ints(let k)? = node.attributes["kernel_shape"] { cost.flops = satMul(outCount, product(k)) }
      case "GlobalAveragePool", "GlobalMaxPool":
        cost.flops = product(inShape(0))
      default:
        cost.flops = satMul(outCount, CostModel.flopsPerElement[node.opType] ?? 0)
      }
      cost.flops = satAdd(cost.flops, satMul(2, cost.macs))
      // The main weight (input 1 of MatMul/Gemm/Conv) sets how many MACs a sparse kernel needs.
      let mainWeight = node.inputs.count > 1 ? node.inputs[1] : ""
      if cost.macs > 0, let w = initializers[mainWeight], w.count > 0 {
        cost.nonzeroMACs = Int(
          (Double(cost.macs) * Double(w.count - zeros(mainWeight)) / Double(w.count)).rounded())
      } else {
        cost.nonzeroMACs = cost.macs
      }
      cost.sparsity = cost.parameters == 0 ? 0 : 1 - Double(cost.nonzeroParameters) / Double(cost.parameters)
      nodes.append(cost)
    }
    let used = Set(nodes.flatMap(\.weights))
    var totals = GraphCost.Totals(
      parameters: 0, nonzeroParameters: 0, macs: nodes.reduce(0) { satAdd($0, $1.macs) },
      nonzeroMACs: nodes.reduce(0) { satAdd($0, $1.nonzeroMACs) }, flops: nodes.reduce(0) { satAdd($0, $1.flops) },
      weightBytes: 0, activationBytesRead: nodes.reduce(0) { satAdd($0, $1.activationBytesRead) },
      activationBytesWritten: nodes.reduce(0) { satAdd($0, $1.activationBytesWritten) }, sparsity: 0)
    for name in used.sorted() {
      let w = initializers[name]!
      totals.weightBytes += w.count * w.dtype.byteWidth
      if isParameter(w) {
        totals.parameters += w.count
        totals.nonzeroParameters += w.count - zeros(name)
      }
    }
    totals.sparsity =
      totals.parameters == 0 ? 0 : 1 - Double(totals.nonzeroParameters) / Double(totals.parameters)
    var usedShapes: [String: [Int]] = [:]
    for info in inputs where initializers[info.name] == nil {
      usedShapes[info.name] = shapes[info.name]?.shape
    }
    return GraphCost(inputShapes: usedShapes, nodes: nodes, totals: totals)
  }
}

/// Counts saturate at Int.max instead of trapping: shape inference bounds every value at 2^40
/// elements, but MACs (elements × inner size) of absurd input sizes can still pass Int.
private func satMul(_ a: Int, _ b: Int) -> Int {
  let (r, overflow) = a.multipliedReportingOverflow(by: b)
  return overflow ? .max : r
}

private func satAdd(_ a: Int, _ b: Int) -> Int {
  let (r, overflow) = a.addingReportingOverflow(b)
  return overflow ? .max : r
}

private func product<C: Collection>(_ dims: C) -> Int where C.Element == Int {
  dims.reduce(1) { satMul($0, $1) }
}
