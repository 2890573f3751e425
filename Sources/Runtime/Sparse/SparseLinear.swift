import ModelGraph
import TensorCore

/// The kernels a linear layer (MatMul / FusedMatMul / Gemm with a constant 2-D weight) can run with.
public enum LinearKernel: Sendable, Hashable, Codable, CustomStringConvertible {
  /// The packed dense GEMM (`PackedMatrix`).
  case dense
  case csr
  /// Input-major, skipping zero activations (small batches).
  case csc
  /// Input-major 1×16 output blocks, SIMD over outputs, skipping zero activations (small batches).
  case blocked
  /// N:M packed (2:4, 4:8).
  case nm(keep: Int, group: Int)
  /// The int8 GEMM (`Int8MatMul` layers of a quantized model: s8 weights, u8 activations).
  case int8
  /// The sparse int8 kernel (`SparseInt8Matrix`: each column's non-zeros gathered 4 at a time).
  case sparseInt8

  public var description: String {
    switch self {
    case .int8: return "int8"
    case .sparseInt8: return "sparse-int8"
    default: return layout?.description ?? "dense"
    }
  }

  /// Parses `dense`, `csr`, `csc`, `blocked`, `2:4`, `nm` (= 2:4), `sparse-int8`…; nil for anything else.
  public init?(parsing text: String) {
    switch text.lowercased() {
    case "dense": self = .dense
    case "csr": self = .csr
    case "csc", "eie": self = .csc
    case "blocked", "bsr": self = .blocked
    case "nm", "2:4": self = .nm(keep: 2, group: 4)
    case "4:8": self = .nm(keep: 4, group: 8)
    case "1:4": self = .nm(keep: 1, group: 4)
    case "sparse-int8": self = .sparseInt8
    default: return nil
    }
  }

  public var layout: SparseMatrix.Layout? {
    switch self {
    case .dense, .int8, .sparseInt8: return nil
    case .csr: return .csr
    case .csc: return .csc
    case .blocked: return .blocked
    case .nm(let keep, let group): return .nm(keep: keep, group: group)
    }
  }
}

/// A weight stored as k-means codes (Deep Compression's weight sharing): the entry at flat row-major
/// index `positions[i]` of the stored weight holds `table[codes[i]]`; every other entry is 0. Given to
/// the selector, the sparse kernels read 1-byte codes and the ≤ 256-entry table instead of Float32s.
public struct WeightCodebook: Sendable {
  public var positions: [Int]
  public var codes: [UInt8]
  public var table: [Float]

  public init(positions: [Int], codes: [UInt8], table: [Float]) {
    self.positions = positions
    self.codes = codes
    self.table = table
  }
}

/// A linear node the sparse kernels can run: Y = act(X · op(W) + b) (+ R), W a 2-D Float32 initializer.
struct LinearLayer {
  let node: Node
  /// op(W) is [k, n]; `transposed` when W is stored [n, k] (Gemm transB = 1).
  let weight: Tensor
  let transposed: Bool
  let k: Int
  let n: Int
  let zeroFraction: Double
  /// N:M patterns the weight satisfies, densest first.
  let patterns: [LinearKernel]

  /// nil unless `node` is MatMul, FusedMatMul, or a Gemm with transA = 0, alpha = beta = 1 and a bias
  /// that is a 1-D (or [1, N]) initializer, whose B is a 2-D Float32 initializer.
  init?(_ node: Node, in graph: Graph) {
    let fused = node.opType == "FusedMatMul" && node.domain == Fusion.domain
    let isGemm = node.opType == "Gemm" && node.domain.isEmpty
    guard fused || isGemm || (node.opType == "MatMul" && node.domain.isEmpty), node.inputs.count >= 2,
      let w = graph.initializers[node.inputs[1]], w.rank == 2, w.dtype == .float32, w.count > 0
    else { return nil }
    var transposed = false
    if isGemm {
      guard node.intAttribute("transA", 0) == 0, node.floatAttribute("alpha", 1) == 1,
        node.floatAttribute("beta", 1) == 1
      else { return nil }
      transposed = node.intAttribute("transB", 0) != 0
      let n = transposed ? w.shape[0] : w.shape[1]
      if node.inputs.count > 2, !node.inputs[2].isEmpty {
        guard let c = graph.initializers[node.inputs[2]], c.dtype == .float32, c.count == n,
          c.rank == 1 || (c.rank == 2 && c.shape[0] == 1)
        else { return nil }
      }
    }
    self.node = node
    weight = w
    self.transposed = transposed
    (k, n) = transposed ? (w.shape[1], w.shape[0]) : (w.shape[0], w.shape[1])
    let values = w.floats
    var zeros = 0
    for v in values where v == 0 { zeros += 1 }
    zeroFraction = Double(zeros) / Double(values.count)
    var found: [LinearKernel] = []
    for (keep, group) in [(1, 4), (2, 4), (4, 8)] where k % group == 0 {
      if LinearLayer.satisfies(values, k: k, n: n, transposed: transposed, keep: keep, group: group) {
        found.append(.nm(keep: keep, group: group))
        break
      }
    }
    patterns = found
  }

  static func satisfies(_ w: [Float], k: Int, n: Int, transposed: Bool, keep: Int, group: Int) -> Bool {
    for j in 0..<n {
      for g in 0..<(k / group) {
        var count = 0
        for o in 0..<group {
          let p = g * group + o
          if (transposed ? w[j * k + p] : w[p * n + j]) != 0 { count += 1 }
        }
        if count > keep { return false }
      }
    }
    return true
  }

  /// The sparse layout of the weight for `kernel`, with codebook values when `codebook` is given
  /// (its positions index the weight as stored: [n, k] when `storedTransposed`, else [k, n]).
  func sparse(_ kernel: LinearKernel, codebook: WeightCodebook? = nil, storedTransposed: Bool = false) throws
    -> SparseMatrix
  {
    guard let layout = kernel.layout else { preconditionFailure("dense has no sparse layout") }
    var codes: (codes: [UInt8], table: [Float])? = nil
    if let codebook {
      guard codebook.positions.count == codebook.codes.count, codebook.table.count <= 256,
        codebook.positions.allSatisfy({ $0 >= 0 && $0 < k * n })
      else {
        throw ModelGraphError.invalidModel(
          "node '\(node.name)': codebook of \(codebook.codes.count) codes / \(codebook.table.count) centroids does not fit a \(k)×\(n) weight"
        )
      }
      var perElement = [UInt8](repeating: 0, count: k * n)  // op(B) flat p·n + j
      for (f, code) in zip(codebook.positions, codebook.codes) {
        let target = storedTransposed ? (f % k) * n + f / k : f
        perElement[target] = code
      }
      codes = (perElement, codebook.table)
    }
    return try weight.floats.withUnsafeBufferPointer {
      try SparseMatrix.make(
        b: $0.baseAddress!, ldb: weight.shape[1], transposed: transposed, k: k, n: n, layout: layout,
        codebook: codes)
    }
  }

  /// The node's kernel through `matrix` (the activation attribute read once, here).
  static func kernel(_ matrix: SparseMatrix, for node: Node) throws -> OpKernel {
    let activation = try LinearOps.epilogueActivation(OpContext(node: node, opset: 0, inputs: []))
    return { ctx in [try run(matrix, activation, ctx)] }
  }

  /// Y = act(X · W + bias) (+ residual) through `matrix`, for the node's inputs in `ctx` (X, W, [bias],
  /// [residual]).
  static func run(_ matrix: SparseMatrix, _ activation: GEMMEpilogue.Activation, _ ctx: OpContext) throws
    -> Tensor
  {
    let x = try ctx.floatInput(0)
    guard x.rank >= 1, x.shape[x.rank - 1] == matrix.k else {
      throw ctx.shapeError(expected: "[..., \(matrix.k)]", found: "\(x.shape)")
    }
    let m = x.count / max(matrix.k, 1)
    let xv = x.floats
    return try LinearOps.linearOutput(
      ctx, m: m, n: matrix.n, outShape: Array(x.shape.dropLast()) + [matrix.n], biasIndex: 2,
      residualIndex: 3,
      activation: activation
    ) { y, epilogue in
      xv.withUnsafeBufferPointer { xp in
        spmm(
          matrix, m: m, x: xp.baseAddress ?? UnsafePointer(bitPattern: 16)!, ldx: matrix.k, y: y,
          ldy: matrix.n,
          epilogue: epilogue)
      }
    }
  }
}
