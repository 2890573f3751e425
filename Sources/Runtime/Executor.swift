import ModelGraph
import TensorCore

/// Runs a `Graph` on tensors with the kernels a `KernelSelector` picks (dense by default).
///
/// At construction every node gets its kernel (an unsupported op or attribute fails here, before
/// anything runs), values are numbered, nodes that depend only on constants are folded, and each
/// value's last use is recorded. `run` then walks the nodes in order and drops every intermediate
/// right after its last reader, so peak memory is the live activations, not all of them. The batch
/// dimension (and any other symbolic one) is whatever the inputs bring.
///
///     let executor = try Executor(graph: graph)
///     let outputs = try executor.run(["input": x])   // keyed by graph output names
public struct Executor: Sendable {
  public let graph: Graph

  /// A class, so that walking the steps on every run retains one reference per step instead of
  /// copying each field of the node (measured: a third of a batch-1 LeNet run was such overhead).
  final class Step: Sendable {
    let node: Node
    let kernel: OpKernel
    let inputSlots: [Int]  // -1: omitted optional input
    let outputSlots: [Int]
    nonisolated(unsafe) var releaseSlots: [Int]  // values last read by this step (never graph outputs); set once in init

    init(node: Node, kernel: @escaping OpKernel, inputSlots: [Int], outputSlots: [Int], releaseSlots: [Int]) {
      self.node = node
      self.kernel = kernel
      self.inputSlots = inputSlots
      self.outputSlots = outputSlots
      self.releaseSlots = releaseSlots
    }
  }

  private(set) var steps: [Step] = []
  private(set) var slotOfName: [String: Int] = [:]
  /// Initializers and folded constants, by slot (nil for values computed at run time).
  private(set) var constants: [Tensor?] = []
  private var inputSlots: [(ValueInfo, Int)] = []
  /// Graph inputs declared float16/bfloat16/float64 (computed in Float32) or a narrower integer type
  /// (computed in Int64): converted when fed, after `checkWidening`.
  private var widenedInputs: [String: DType] = [:]
  /// Graph outputs declared in those types: converted back from Float32 / Int64.
  private var narrowedOutputs: [String: DType] = [:]

  /// Slots holding ONNX sequence values (outputs of the sequence ops) instead of tensors.
  private var sequenceSlots: Set<Int> = []

  /// Nodes evaluated once at construction because they read only constants.
  public private(set) var foldedNodeCount = 0

  /// `optimize` applies the `Fusion` rewrites (MatMul+bias, GELU); turn it off to observe every
  /// value of the original graph through `run(_:keeping:observer:)`.
  public init(
    graph original: Graph, selector: any KernelSelector = DenseKernelSelector(), foldConstants: Bool = true,
    optimize: Bool = true
  ) throws {
    self.graph = original
    // float16/bfloat16/float64 models compute in Float32, int8…uint64 ones in Int64 (their inputs and
    // outputs are converted).
    let widened = original.computingInFloat32().computingInInt64()
    let int64 = original.int64Widening
    func isWidened(_ dtype: DType) -> Bool { Graph.computesAsFloat32(dtype) || int64.widens(dtype) }
    for info in original.inputs where isWidened(info.dtype) { widenedInputs[info.name] = info.dtype }
    for info in original.outputs where isWidened(info.dtype) { narrowedOutputs[info.name] = info.dtype }
    let graph = optimize ? Fusion.fuse(widened) : widened
    func slot(_ name: String) -> Int {
      if let s = slotOfName[name] { return s }
      slotOfName[name] = constants.count
      constants.append(nil)
      return constants.count - 1
    }
    for info in graph.inputs where graph.initializers[info.name] == nil {
      inputSlots.append((info, slot(info.name)))
    }
    for (name, tensor) in graph.initializers { constants[slot(name)] = tensor }
    var defined = Set(slotOfName.keys)
    for node in graph.nodes {
      for name in node.inputs where !name.isEmpty && !defined.contains(name) {
        throw ModelGraphError.missingValue(node: node.name, name: name)
      }
      let kernel = try selector.kernel(for: node, in: graph)
      let ins = node.inputs.map { $0.isEmpty ? -1 : slot($0) }
      let outs = node.outputs.map { $0.isEmpty ? -1 : slot($0) }
      defined.formUnion(node.outputs)
      let step = Step(node: node, kernel: kernel, inputSlots: ins, outputSlots: outs, releaseSlots: [])
      for (i, s) in ins.enumerated() where s >= 0 && sequenceSlots.contains(s) && !SequenceOps.takesSequence(node, input: i) {
        throw ModelGraphError.invalidModel(
          "node '\(node.name)' (\(node.opType)): input '\(node.inputs[i])' is a sequence, expected a tensor")
      }
      if SequenceOps.producesSequence(node) { sequenceSlots.formUnion(outs.filter { $0 >= 0 }) }
      if foldConstants, !ins.isEmpty || node.opType == "Constant", !SequenceOps.opTypes.contains(node.opType),
        ins.allSatisfy({ $0 < 0 || constants[$0] != nil }), node.opType != "RandomNormal"
      {
        var ctx = OpContext(
          node: node, opset: graph.opsetVersion, inputs: ins.map { $0 < 0 ? nil : constants[$0] })
        let results = try kernel(&ctx)
        for (i, s) in outs.enumerated() where s >= 0 && i < results.count { constants[s] = results[i] }
        foldedNodeCount += 1
      } else {
        steps.append(step)
      }
    }
    for output in graph.outputs where !defined.contains(output.name) {
      throw ModelGraphError.missingValue(node: "graph output", name: output.name)
    }
    for output in graph.outputs where slotOfName[output.name].map(sequenceSlots.contains) ?? false {
      throw ModelGraphError.invalidModel(
        "graph output '\(output.name)' is a sequence; graph outputs must be tensors (sequences live inside the graph)")
    }
    // Last reader of each slot; graph outputs are never released.
    let kept = Set(graph.outputs.compactMap { slotOfName[$0.name] })
    var lastUse: [Int: Int] = [:]
    for (i, step) in steps.enumerated() {
      for s in step.inputSlots where s >= 0 { lastUse[s] = i }
    }
    for (s, i) in lastUse where !kept.contains(s) && constants[s] == nil { steps[i].releaseSlots.append(s) }
  }

  /// Names of the graph inputs the caller must supply.
  public var requiredInputs: [ValueInfo] { inputSlots.map(\.0) }

  /// Runs the graph. `inputs` are keyed by graph input names; the result holds every graph output,
  /// plus the values named in `keeping` (intermediates to observe, e.g. for calibration).
  /// `observer`, if given, sees each node with its outputs as they are computed.
  public func run(
    _ inputs: [String: Tensor], keeping: Set<String> = [],
    observer: ((Node, [Tensor]) -> Void)? = nil
  ) throws -> [String: Tensor] {
    // Run-time values only: constants are read from `constants` (not copied, not retained per run).
    var values = try feed(inputs)
    var sequences = [[Tensor]?](repeating: nil, count: sequenceSlots.isEmpty ? 0 : constants.count)
    let keptSlots = keeping.isEmpty ? [] : Set(keeping.compactMap { slotOfName[$0] })
    var kept: [String: Tensor] = [:]
    for step in steps {
      var ctx = OpContext(
        node: step.node, opset: graph.opsetVersion,
        inputs: step.inputSlots.map { $0 < 0 ? nil : (values[$0] ?? constants[$0]) })
      if !sequences.isEmpty { ctx.sequenceInputs = step.inputSlots.map { $0 < 0 ? nil : sequences[$0] } }
      // Drop our references first so kernels may update last-use inputs in place.
      for s in step.releaseSlots where keptSlots.isEmpty || !keptSlots.contains(s) {
        values[s] = nil
        if !sequences.isEmpty { sequences[s] = nil }
      }
      let results = try step.kernel(&ctx)
      for (i, sequence) in ctx.sequenceOutputs where i < step.outputSlots.count && step.outputSlots[i] >= 0 {
        sequences[step.outputSlots[i]] = sequence
      }
      guard results.count >= 1 || step.outputSlots.allSatisfy({ $0 < 0 }) else {
        throw ModelGraphError.invalidModel("node '\(step.node.name)': kernel returned no outputs")
      }
      for (i, s) in step.outputSlots.enumerated() where s >= 0 && i < results.count && ctx.sequenceOutputs[i] == nil {
        values[s] = results[i]
      }
      observer?(step.node, results)
      for s in step.releaseSlots where !keptSlots.isEmpty && keptSlots.contains(s) {
        if let name = step.node.inputs.first(where: { slotOfName[$0] == s }) {
          kept[name] = values[s] ?? constants[s]
        }
        values[s] = nil
      }
    }
    var outputs = kept
    for output in graph.outputs {
      guard let s = slotOfName[output.name], let tensor = values[s] ?? constants[s] else {
        throw ModelGraphError.missingValue(node: "graph output", name: output.name)
      }
      outputs[output.name] = narrowedOutputs[output.name].map { tensor.converted(to: $0) } ?? tensor
    }
    for name in keeping where outputs[name] == nil {
      if let s = slotOfName[name], let tensor = values[s] ?? constants[s] { outputs[name] = tensor }
    }
    return outputs
  }

  /// Run-time values by slot with the graph inputs filled in: converted to the computing type and
  /// checked against their declarations (also `record`'s start).
  func feed(_ inputs: [String: Tensor]) throws -> [Tensor?] {
    var values = [Tensor?](repeating: nil, count: constants.count)
    for (info, s) in inputSlots {
      guard var tensor = inputs[info.name] else {
        throw ModelGraphError.missingValue(node: "graph input", name: info.name)
      }
      if let declared = widenedInputs[info.name], tensor.dtype == declared {
        try Executor.checkWidening(tensor, name: info.name)
        tensor = tensor.converted(to: Graph.computesAsFloat32(declared) ? .float32 : .int64)
      }
      try Executor.check(tensor, against: info)
      values[s] = tensor
    }
    return values
  }

  /// Refuses input values the computing type cannot hold: finite float64 values beyond the Float32
  /// range (they would become ±inf) and uint64 values ≥ 2⁶³ (Int64 would order them as negative).
  static func checkWidening(_ tensor: Tensor, name: String) throws {
    switch tensor.dtype {
    case .float64:
      let limit = Double(Float.greatestFiniteMagnitude)
      let values = tensor.rawBytes.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
      if let bad = values.first(where: { $0.isFinite && Swift.abs($0) > limit }) {
        throw ModelGraphError.invalidModel(
          "graph input '\(name)' (float64) holds \(bad), beyond the Float32 range (±3.4e38) PruneKit computes in")
      }
    case .uint64:
      let values = tensor.rawBytes.withUnsafeBytes { Array($0.bindMemory(to: UInt64.self)) }
      if let bad = values.first(where: { $0 > UInt64(Int64.max) }) {
        throw ModelGraphError.invalidModel(
          "graph input '\(name)' (uint64) holds \(bad), beyond the Int64 range (≤ 2⁶³−1) PruneKit computes in")
      }
    default: break
    }
  }

  /// Rank, fixed dimensions and dtype of a supplied input against the graph's declaration.
  static func check(_ tensor: Tensor, against info: ValueInfo) throws {
    guard tensor.dtype == info.dtype else {
      throw ModelGraphError.dtypeMismatch(
        node: "graph input", name: info.name, expected: info.dtype.rawValue, found: tensor.dtype.rawValue)
    }
    guard let dims = info.shape else { return }
    let matches =
      dims.count == tensor.rank
      && zip(dims, tensor.shape).allSatisfy { dim, n in dim.value.map { $0 == n } ?? true }
    guard matches else {
      throw ModelGraphError.shapeMismatch(
        node: "graph input '\(info.name)'", expected: "\(dims)", found: "\(tensor.shape)")
    }
  }
}
