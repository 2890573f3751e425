import TensorCore

/// One op implementation: reads its inputs and attributes from the context, returns the outputs in
/// the order of `node.outputs` (trailing optional outputs may be left out).
public typealias OpKernel = @Sendable (inout OpContext) throws -> [Tensor]

/// The seam where a node's kernel is chosen. Runtime's dense selector looks the op up in its `OpRegistry`;
/// a sparse selector can return a CSR or N:M kernel for nodes whose weights carry a mask in
/// `graph.masks` (or a node attribute), and defer to the dense one for everything else.
public protocol KernelSelector: Sendable {
  /// The kernel that will run `node` of `graph`; throws `unsupportedOp`/`unsupportedAttribute`
  /// when none fits, so that an unsupported node fails before anything runs.
  func kernel(for node: Node, in graph: Graph) throws -> OpKernel
}
