import ModelGraph

/// One-shot pruning: masks once at the target sparsity, then (optionally) one recovery.
public struct OneShotPruning {
  public var builder: MaskBuilder
  public var sparsity: Double
  public var selection: PrunableSelection

  public init(builder: MaskBuilder, sparsity: Double, selection: PrunableSelection = .default) {
    self.builder = builder
    self.sparsity = sparsity
    self.selection = selection
  }

  @discardableResult
  public func run<R: Recovery>(_ graph: inout Graph, recovery: inout R) throws -> PruningRound {
    try pruneUnstructured(&graph, builder: builder, sparsity: sparsity, selection: selection)
    try recovery.recover(&graph, round: 0)
    try graph.applyMasks()
    let parameters = selection.parameters(in: graph)
    return PruningRound(
      round: 0, sparsity: graph.sparsity(of: parameters), kept: graph.keptFractions(of: parameters),
      quality: nil)
  }
}
