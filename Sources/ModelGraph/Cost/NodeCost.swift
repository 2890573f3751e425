/// What one node costs for one run at given input sizes: the counts the energy model and the
/// reports consume. All counts are exact for the op's definition at these shapes; FLOPs of
/// non-linear ops use the per-element table in `CostModel.flopsPerElement` (an approximation,
/// documented there).
public struct NodeCost: Sendable, Codable, Equatable {
  public var node: String
  public var opType: String
  /// Initializers the node reads (weights, biases, constants), in input order.
  public var weights: [String]
  /// Elements of the node's parameters: float initializers of rank ≥ 1 it reads.
  public var parameters: Int
  /// Parameters that are neither zero nor masked out by `graph.masks`.
  public var nonzeroParameters: Int
  /// Multiply-accumulates of the dense op (MatMul, Gemm, Conv, ConvTranspose); 0 for other ops.
  public var macs: Int
  /// MACs that touch a non-zero weight: `macs` × the main weight's density (what a sparse kernel
  /// must do at best).
  public var nonzeroMACs: Int
  /// Floating-point operations: 2 per MAC, plus the element-wise work of the op (and a bias add).
  public var flops: Int
  /// Bytes of all initializers the node reads (parameters and constants), at their stored dtype.
  public var weightBytes: Int
  /// Bytes of the non-constant inputs read, and of the outputs written.
  public var activationBytesRead: Int
  public var activationBytesWritten: Int
  /// Fraction of parameter elements that are zero or masked, 0…1 (0 without parameters).
  public var sparsity: Double
  public var outputShapes: [[Int]]

  public init(
    node: String, opType: String, weights: [String] = [], parameters: Int = 0, nonzeroParameters: Int = 0,
    macs: Int = 0, nonzeroMACs: Int = 0, flops: Int = 0, weightBytes: Int = 0, activationBytesRead: Int = 0,
    activationBytesWritten: Int = 0, sparsity: Double = 0, outputShapes: [[Int]] = []
  ) {
    self.node = node
    self.opType = opType
    self.weights = weights
    self.parameters = parameters
    self.nonzeroParameters = nonzeroParameters
    self.macs = macs
    self.nonzeroMACs = nonzeroMACs
    self.flops = flops
    self.weightBytes = weightBytes
    self.activationBytesRead = activationBytesRead
    self.activationBytesWritten = activationBytesWritten
    self.sparsity = sparsity
    self.outputShapes = outputShapes
  }
}

/// Costs of a whole graph at given input sizes: one entry per node in graph order, and totals.
public struct GraphCost: Sendable, Codable, Equatable {
  /// Input shapes the costs were computed for.
  public var inputShapes: [String: [Int]]
  public var nodes: [NodeCost]
  public var totals: Totals

  public struct Totals: Sendable, Codable, Equatable {
    /// Parameters of the graph, each initializer counted once even when several nodes read it.
    public var parameters: Int
    public var nonzeroParameters: Int
    public var macs: Int
    public var nonzeroMACs: Int
    public var flops: Int
    /// Bytes of every initializer read by some node, each counted once.
    public var weightBytes: Int
    public var activationBytesRead: Int
    public var activationBytesWritten: Int
    /// 1 − nonzeroParameters / parameters.
    public var sparsity: Double
  }

  public init(inputShapes: [String: [Int]], nodes: [NodeCost], totals: Totals) {
    self.inputShapes = inputShapes
    self.nodes = nodes
    self.totals = totals
  }
}
