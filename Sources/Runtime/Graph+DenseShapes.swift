import ModelGraph

/// Shape inference and costs with the dense op table: ModelGraph evaluates small constant subgraphs
/// through whichever `KernelSelector` it is given; these forms pass `DenseKernelSelector()`.
extension Graph {
  /// `inferShapes(inputShapes:selector:)` with the dense kernels.
  public func inferShapes(inputShapes: [String: [Int]] = [:]) throws -> [String: ValueShape] {
    try inferShapes(inputShapes: inputShapes, selector: DenseKernelSelector())
  }

  /// `costs(inputShapes:selector:)` with the dense kernels.
  public func costs(inputShapes: [String: [Int]] = [:]) throws -> GraphCost {
    try costs(inputShapes: inputShapes, selector: DenseKernelSelector())
  }
}

extension Graph {
  /// `checkShapes(selector:)` with the dense kernels: every op known, every shape consistent.
  public func checkShapes() throws {
    try checkShapes(selector: DenseKernelSelector(prepackWeights: false))
  }
}

extension Graph {
  /// `largestValue(inputShapes:selector:)` with the dense kernels.
  public func largestValue(inputShapes: [String: [Int]]) throws -> (name: String, shape: [Int], elements: Int) {
    try largestValue(inputShapes: inputShapes, selector: DenseKernelSelector(prepackWeights: false))
  }
}
