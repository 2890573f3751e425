import ModelGraph
import TensorCore

/// Key of the op table: ONNX domain ("" for ai.onnx) and op type.
public struct OpKey: Hashable, Sendable, CustomStringConvertible {
  public var domain: String
  public var opType: String

  public init(_ opType: String, domain: String = "") {
    self.opType = opType
    self.domain = domain == "ai.onnx" ? "" : domain
  }

  public var description: String { domain.isEmpty ? opType : "\(domain).\(opType)" }
}

/// An entry of the op table: the kernel and the default-domain opsets whose semantics it implements.
public struct OpDefinition: Sendable {
  public var kernel: OpKernel
  public var opsets: ClosedRange<Int>

  public init(opsets: ClosedRange<Int> = OpRegistry.supportedOpsets, _ kernel: @escaping OpKernel) {
    self.kernel = kernel
    self.opsets = opsets
  }
}

/// The table of dense op implementations, one file per op family registers its ops here.
public enum OpRegistry {
  /// Opsets whose semantics the table implements (attribute-vs-input forms of both sides of
  /// each change are handled inside the kernels).
  /// Opsets 22–28 changed the ops of this table only by adding element types (bfloat16, float4/8,
  /// int4) and float16 options (Range `stash_type`, Cast `round_mode`); Mod 28 defines fmod = 0 on
  /// floats as A − ⌊A/B⌋·B, which the kernel implements. New ops of those opsets are listed in
  /// `OpsetTwentyThreeOps` or are reported as unsupported by name.
  public static let supportedOpsets: ClosedRange<Int> = 7...28

  public static let standard: [OpKey: OpDefinition] = {
    var table: [OpKey: OpDefinition] = [:]
    ElementwiseOps.register(into: &table)
    ActivationOps.register(into: &table)
    LinearOps.register(into: &table)
    ConvOps.register(into: &table)
    PoolOps.register(into: &table)
    NormOps.register(into: &table)
    ShapeOps.register(into: &table)
    MovementOps.register(into: &table)
    ReduceOps.register(into: &table)
    ResizeOps.register(into: &table)
    LogicOps.register(into: &table)
    AttentionOp.register(into: &table)
    ExtraOps.register(into: &table)
    IndexOps.register(into: &table)
    OpsetTwentyThreeOps.register(into: &table)
    QuantizeOps.register(into: &table)
    SequenceOps.register(into: &table)
    return table
  }()

  /// Op types of the default domain the executor runs, sorted.
  public static var supportedOpTypes: [String] {
    standard.keys.filter { $0.domain.isEmpty }.map(\.opType).sorted()
  }
}

/// Chooses the dense implementation from an op table.
public struct DenseKernelSelector: KernelSelector {
  public var table: [OpKey: OpDefinition]
  /// MatMul / FusedMatMul with a constant 2-D weight get a kernel holding the weight pre-packed for the
  /// GEMM (packed once here instead of on every run; costs one extra copy of those weights).
  public var prepackWeights: Bool

  public init(table: [OpKey: OpDefinition] = OpRegistry.standard, prepackWeights: Bool = true) {
    self.table = table
    self.prepackWeights = prepackWeights
  }

  public func kernel(for node: Node, in graph: Graph) throws -> OpKernel {
    let key = OpKey(node.opType, domain: node.domain)
    guard let definition = table[key],
      key.domain.isEmpty ? definition.opsets.contains(graph.opsetVersion) : true
    else {
      throw ModelGraphError.unsupportedOp(
        node: node.name, opType: node.opType, domain: node.domain, opset: graph.opsetVersion)
    }
    if prepackWeights, let packed = LinearOps.prepackedKernel(for: node, in: graph) { return packed }
    if prepackWeights, let packed = try Int8Linear.prepackedKernel(for: node, in: graph) { return packed }
    return definition.kernel
  }
}
