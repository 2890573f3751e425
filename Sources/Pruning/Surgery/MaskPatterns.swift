import ModelGraph
import TensorCore

/// How the pruned elements of a weight may be arranged.
public enum SparsityPattern: Sendable, Equatable, CustomStringConvertible {
  /// Any element may go.
  case unstructured
  /// N of every M consecutive weights along the input dimension survive (NVIDIA 2:4, Mishra et al. 2021).
  case nOfM(n: Int, m: Int)
  /// Whole rows×cols blocks of the weight, viewed as [shape[0], count / shape[0]], go or stay together.
  case block(rows: Int, cols: Int)

  public var description: String {
    switch self {
    case .unstructured: return "unstructured"
    case .nOfM(let n, let m): return "\(n):\(m)"
    case .block(let r, let c): return "block \(r)x\(c)"
    }
  }
}

/// Where the pruning threshold is taken: per parameter, or over all prunable parameters at once.
public enum PruningScope: String, Sendable, Equatable {
  case layer, global
}

/// Which axis of a weight tensor is its input (reduction) dimension, from the node that reads it:
/// Conv [out, in/g, kh, kw] → 1; Gemm B → 1 with transB=1 else 0; MatMul B [.., in, out] → rank−2;
/// MatMul A → rank−1. Anything else → the last axis.
func inputAxis(of parameter: String, rank: Int, in graph: Graph) -> Int {
  for node in graph.nodes where node.inputs.contains(parameter) {
    switch node.opType {
    case "Conv", "ConvTranspose":
      if node.inputs.count > 1, node.inputs[1] == parameter { return 1 }
    case "Gemm":
      if node.inputs.count > 1, node.inputs[1] == parameter {
        if case .int(let t)? = node.attributes["transB"], t != 0 { return 1 }
        return 0
      }
      if node.inputs.first == parameter {
        if case .int(let t)? = node.attributes["transA"], t != 0 { return 0 }
        return 1
      }
    case "MatMul":
      if node.inputs.count > 1, node.inputs[1] == parameter { return max(0, rank - 2) }
      if node.inputs.first == parameter { return rank - 1 }
    default: break
    }
  }
  return rank - 1
}

/// N:M mask of `scores`: in every run of M consecutive elements along `axis`, the N highest scores
/// stay (ties: the lower index stays). `scores.shape[axis]` must be a multiple of M.
public func nOfMMask(scores: Tensor, n: Int, m: Int, axis: Int, name: String) throws -> Tensor {
  guard n >= 0, m > 0, n <= m else {
    throw PruningError.invalidArgument(what: "N:M pattern", expected: "0 ≤ N ≤ M, M > 0", found: "\(n):\(m)")
  }
  let shape = scores.shape
  guard axis >= 0, axis < shape.count, shape[axis] % m == 0 else {
    throw PruningError.unsupportedParameter(
      name: name, expected: "input dimension (axis \(axis)) divisible by M=\(m)", found: "shape \(shape)")
  }
  let strides = Tensor.strides(of: shape)
  let values = scores.floats
  var mask = [Float](repeating: 0, count: values.count)
  let along = shape[axis]
  let step = strides[axis]
  let outer = values.count / (along * step)
  var order = [Int](repeating: 0, count: m)
  for o in 0..<outer {
    for inner in 0..<step {
      let base = o * along * step + inner
      for start in stride(from: 0, to: along, by: m) {
        for j in 0..<m { order[j] = base + (start + j) * step }
        // Highest score first, lower index first on ties.
        order.sort { values[$0] != values[$1] ? values[$0] > values[$1] : $0 < $1 }
        for j in 0..<n { mask[order[j]] = 1 }
      }
    }
  }
  return Tensor(shape: shape, floats: mask)
}

/// Block scores: the weight viewed as [R, C] = [shape[0], count/shape[0]] is cut into rows×cols
/// blocks; returns the summed score per block, [R/rows, C/cols] row-major.
func blockScores(_ scores: Tensor, rows: Int, cols: Int, name: String) throws -> (Tensor, r: Int, c: Int) {
  let r = scores.shape.first ?? 1
  let c = scores.count / max(r, 1)
  guard rows > 0, cols > 0, r % rows == 0, c % cols == 0 else {
    throw PruningError.unsupportedParameter(
      name: name, expected: "[R, C] view divisible by block \(rows)x\(cols)", found: "[\(r), \(c)]")
  }
  let values = scores.floats
  let br = r / rows
  let bc = c / cols
  var sums = [Float](repeating: 0, count: br * bc)
  for i in 0..<r {
    for j in 0..<c { sums[(i / rows) * bc + j / cols] += values[i * c + j] }
  }
  return (Tensor(shape: [br, bc], floats: sums), r, c)
}

/// Expands a [R/rows, C/cols] block mask back to the weight's shape.
func expandBlockMask(_ blockMask: Tensor, rows: Int, cols: Int, r: Int, c: Int, shape: [Int]) -> Tensor {
  let bm = blockMask.floats
  let bc = c / cols
  var mask = [Float](repeating: 0, count: r * c)
  for i in 0..<r {
    for j in 0..<c { mask[i * c + j] = bm[(i / rows) * bc + j / cols] }
  }
  return Tensor(shape: shape, floats: mask)
}

extension SparsityPattern {
  /// Whether `parameter` of `graph` can take this pattern: N:M needs its input dimension to be a
  /// multiple of M, a block pattern needs the [R, C] view divisible by the block. Unstructured fits
  /// everything. (Stem convolutions with 3 input channels and classifier heads with 10 rows are the
  /// usual misfits: callers leave them dense rather than fail the whole model.)
  public func fits(_ parameter: String, in graph: Graph) -> Bool {
    guard let t = graph.initializers[parameter] else { return false }
    switch self {
    case .unstructured: return true
    case .nOfM(_, let m):
      let axis = inputAxis(of: parameter, rank: t.rank, in: graph)
      return m > 0 && axis < t.rank && t.shape[axis] % m == 0
    case .block(let rows, let cols):
      let r = t.shape.first ?? 1
      return rows > 0 && cols > 0 && r % rows == 0 && (t.count / Swift.max(r, 1)) % cols == 0
    }
  }
}
