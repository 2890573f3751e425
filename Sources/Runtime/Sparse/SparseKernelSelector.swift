import Foundation
import ModelGraph
import Synchronization
import TensorCore

/// Chooses, per linear layer, between the dense packed GEMM and the sparse kernels by *measuring*
/// them on the layer's own weight at the rows it will run with (batch × sequence), and defers every
/// other node to `DenseKernelSelector`. Choices are cached per CPU model (`KernelChoiceCache`), so a
/// second load measures nothing. `PRUNEKIT_KERNEL=dense|csr|csc|2:4|4:8` forces one kernel for every
/// layer that can run it, `blocked` too (the GEMM micro-kernel values avx512|avx2|reference keep
/// their meaning).
///
///     let selector = try SparseKernelSelector(graph: graph, inputShapes: ["input": [1, 1, 28, 28]])
///     let executor = try Executor(graph: graph, selector: selector)
///     selector.choices   // what each layer got, and the measured alternatives
public struct SparseKernelSelector: KernelSelector {
  public struct Options: Sendable {
    /// Layers with fewer zeros than this stay dense without being measured.
    public var minimumSparsity = 0.3
    /// One kernel for every layer that can run it (nil: measure). Defaults to `PRUNEKIT_KERNEL`.
    public var forced: LinearKernel? = ProcessInfo.processInfo.environment["PRUNEKIT_KERNEL"].flatMap(
      LinearKernel.init(parsing:))
    /// Where measured choices are kept; nil measures every time.
    public var cache: KernelChoiceCache? = .shared
    /// Threads the layers will run with.
    public var threads = ThreadPool.shared.threadCount
    /// k-means codebooks of weights (by initializer name, e.g. from a `.pkz`): their sparse kernels
    /// read the codes (1 byte per weight) instead of Float32 values.
    public var codebooks: [String: WeightCodebook] = [:]

    public init() {}
  }

  /// What one layer got.
  public struct Choice: Sendable, Codable {
    public var node: String
    /// The weight initializer's name in the graph the executor ran (`…/transposed` for a Gemm with
    /// transB = 1, whose weight the fusion stores transposed).
    public var weight: String
    public var shape: String
    public var sparsity: Double
    public var kernel: LinearKernel
    /// Measured seconds per call of each candidate (empty when forced or below the threshold).
    public var seconds: [String: Double]
    /// Bytes the chosen kernel keeps for the weight.
    public var weightBytes: Int
    public var fromCache: Bool
  }

  public let dense: DenseKernelSelector
  public let options: Options
  /// Concrete shape of every value, from shape inference.
  let shapes: [String: [Int]]
  /// Inputs of the linear layers on `sample` (when given): the activations the kernels are timed on,
  /// so that a kernel that skips zero (or constant) activations is measured on the real proportion.
  let activations: [String: Tensor]
  private let log = ChoiceLog()

  /// `inputShapes`: the shapes the graph will be run with (symbolic dimensions otherwise count as 1).
  /// `sample`: inputs of those shapes (e.g. the ones about to be run): the candidates are then timed on
  /// each layer's real activations (one dense run here), otherwise on seeded ones (half zeros when the
  /// layer's input comes from a ReLU, none otherwise).
  public init(
    graph: Graph, inputShapes: [String: [Int]] = [:], sample: [String: Tensor]? = nil,
    dense: DenseKernelSelector = DenseKernelSelector(), options: Options = Options()
  ) {
    self.dense = dense
    self.options = options
    var activations: [String: Tensor] = [:]
    if let sample, options.forced == nil {
      let linearInputs = Set(
        graph.nodes.filter { ["MatMul", "Gemm", "Conv"].contains($0.opType) && $0.inputs.count >= 2 }.map {
          $0.inputs[0]
        })
      if let executor = try? Executor(graph: graph, optimize: false),
        let values = try? executor.run(sample, keeping: linearInputs)
      {
        for name in linearInputs { activations[name] = values[name] }
      }
    }
    self.activations = activations
    var concrete: [String: [Int]] = [:]
    if let shapes = try? graph.inferShapes(inputShapes: inputShapes) {
      for (name, shape) in shapes where !shape.concrete.isEmpty { concrete[name] = shape.concrete }
    }
    self.shapes = concrete
  }

  /// The choices made so far, in node order.
  public var choices: [Choice] { log.entries.withLock { $0 } }

  private func record(_ choice: Choice) { log.entries.withLock { $0.append(choice) } }

  public func kernel(for node: Node, in graph: Graph) throws -> OpKernel {
    if let conv = PointwiseConv(node, in: graph) {
      return try pointwiseKernel(conv, node: node, graph: graph)
    }
    if Int8Linear.isInt8MatMul(node), let w = graph.initializers[node.inputs[1]], w.rank == 2 {
      return try int8Kernel(node, weight: w, graph: graph)
    }
    guard let layer = LinearLayer(node, in: graph) else { return try dense.kernel(for: node, in: graph) }
    // Rows of X: the product of all but its last dimension.
    let m = max(1, shapes[node.inputs[0]].map { $0.dropLast().reduce(1, *) } ?? 1)
    let shape = "\(m)×\(layer.k)×\(layer.n)"
    let weightName = node.inputs[1]
    let storedTransposed = layer.transposed || weightName.hasSuffix("/transposed")
    let codebook =
      options.codebooks[weightName.hasSuffix("/transposed") ? String(weightName.dropLast(11)) : weightName]
    var candidates: [LinearKernel] = [.dense]
    if layer.zeroFraction >= options.minimumSparsity || !layer.patterns.isEmpty {
      if layer.zeroFraction >= options.minimumSparsity { candidates.append(.csr) }
      if m <= 16 && layer.n <= 1 << 16 && layer.zeroFraction >= options.minimumSparsity {
        candidates += codebook == nil ? [.csc, .blocked] : [.csc]  // blocked holds Float32 blocks only
      }
      candidates += layer.patterns
    }
    let build = { (kernel: LinearKernel) throws -> SparseMatrix in
      try layer.sparse(kernel, codebook: codebook, storedTransposed: storedTransposed)
    }
    var chosen: LinearKernel = .dense
    var seconds: [String: Double] = [:]
    var fromCache = false
    if let forced = options.forced, forced != .dense, candidates.contains(forced) {
      chosen = forced
    } else if options.forced == .dense || candidates.count == 1 {
      chosen = .dense
    } else {
      let input = activations[node.inputs[0]]
      let afterReLU = Self.followsReLU(node.inputs[0], in: graph)
      let key =
        KernelChoiceCache.key(
          op: node.opType, m: m, k: layer.k, n: layer.n, sparsity: layer.zeroFraction, candidates: candidates,
          threads: options.threads,
          inputs: input.map { "sample \(Int((Self.commonValueFraction($0) * 10).rounded()) * 10)% constant" }
            ?? (afterReLU ? "relu" : "dense"))
        + (codebook == nil ? "" : "|codebook")
      if let cached = options.cache?.lookup(key), candidates.contains(cached) {
        chosen = cached
        fromCache = true
      } else {
        (chosen, seconds) = try measure(
          layer, candidates: candidates, m: m, sample: input, afterReLU: afterReLU, build: build)
        options.cache?.store(key, chosen)
      }
    }
    let kernel: OpKernel
    let bytes: Int
    if chosen == .dense {
      kernel = try dense.kernel(for: node, in: graph)
      bytes = layer.weight.count * 4
    } else {
      let matrix = try build(chosen)
      try matrix.validate(name: node.name)
      kernel = try LinearLayer.kernel(matrix, for: node)
      bytes = matrix.byteCount
    }
    record(
      Choice(
        node: node.name, weight: node.inputs[1], shape: shape, sparsity: layer.zeroFraction, kernel: chosen,
        seconds: seconds, weightBytes: bytes, fromCache: fromCache))
    return kernel
  }

  /// Times each candidate on seeded activations of the layer's real shape (rows capped at 4096):
  /// best of several calls, at least 3 and ~2 ms each.
  private func measure(
    _ layer: LinearLayer, candidates: [LinearKernel], m: Int, sample: Tensor?, afterReLU: Bool,
    build: (LinearKernel) throws -> SparseMatrix
  ) throws -> (LinearKernel, [String: Double]) {
    let rows = min(m, 4096)
    var x: [Float]
    if let sample, sample.dtype == .float32, sample.count >= rows * layer.k {
      x = Array(sample.floats.prefix(rows * layer.k))
    } else {
      var rng = SeededGenerator(seed: 7)
      x = (0..<(rows * layer.k)).map { _ -> Float in
        let v = rng.nextUniform() * 2 - 1
        return afterReLU && v < 0 ? 0 : v
      }
    }
    var y = [Float](repeating: 0, count: rows * layer.n)
    var timings: [String: Double] = [:]
    var best: (LinearKernel, Double) = (.dense, .infinity)
    let w = layer.weight.floats
    for candidate in candidates {
      let run: () -> Void
      if candidate == .dense && rows == 1 {
        // One row: the executor's dense kernel runs the GEMV on the weight in place (no packing), so
        // that is what dense is timed as; a packed GEMM of one row would take about twice as long.
        run = {
          x.withUnsafeBufferPointer { xp in
            w.withUnsafeBufferPointer { wp in
              y.withUnsafeMutableBufferPointer { yp in
                gemm(
                  transA: false, transB: layer.transposed, m: 1, n: layer.n, k: layer.k, alpha: 1,
                  a: xp.baseAddress!, lda: layer.k, b: wp.baseAddress!, ldb: layer.weight.shape[1], beta: 0,
                  c: yp.baseAddress!, ldc: layer.n, threads: options.threads)
              }
            }
          }
        }
      } else if candidate == .dense {
        let packed = w.withUnsafeBufferPointer {
          PackedMatrix(
            b: $0.baseAddress!, ldb: layer.weight.shape[1], transposed: layer.transposed, k: layer.k,
            n: layer.n)
        }
        run = {
          x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
              gemm(
                transA: false, m: rows, alpha: 1, a: xp.baseAddress!, lda: layer.k, packedB: packed, beta: 0,
                c: yp.baseAddress!, ldc: layer.n, threads: options.threads)
            }
          }
        }
      } else {
        let matrix = try build(candidate)
        run = {
          x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
              spmm(
                matrix, m: rows, x: xp.baseAddress!, ldx: layer.k, y: yp.baseAddress!, ldy: layer.n,
                threads: options.threads)
            }
          }
        }
      }
      let t = KernelTimer.bestSecondsPerCall(run)
      timings[candidate.description] = t
      if t < best.1 { best = (candidate, t) }
    }
    return (best.0, timings)
  }
}

extension SparseKernelSelector {
  /// A 1×1 convolution: the dense kernel or `spmmChannelMajor`, whichever runs the layer's real (or
  /// seeded) activations faster; both are timed through their op kernels on the same inputs.
  func pointwiseKernel(_ conv: PointwiseConv, node: Node, graph: Graph) throws -> OpKernel {
    let denseKernel = try dense.kernel(for: node, in: graph)
    let shape = shapes[node.inputs[0]] ?? [1, conv.inChannels, 1, 1]
    let spatial = shape.count >= 3 ? shape.dropFirst(2).reduce(1, *) : 1
    let label = "\(shape.first ?? 1)×\(conv.inChannels)×\(spatial)→\(conv.outChannels) (1×1 conv)"
    func record(_ kernel: LinearKernel, _ seconds: [String: Double], _ bytes: Int, cached: Bool) {
      self.record(
        Choice(
          node: node.name, weight: node.inputs[1], shape: label, sparsity: conv.zeroFraction, kernel: kernel,
          seconds: seconds, weightBytes: bytes, fromCache: cached))
    }
    if conv.zeroFraction < options.minimumSparsity || options.forced == .dense
      || (options.forced != nil && options.forced != .csr)
    {
      record(.dense, [:], conv.weight.count * 4, cached: false)
      return denseKernel
    }
    let matrix = try conv.sparse()
    try matrix.validate(name: node.name)
    let sparseKernel = PointwiseConv.kernel(matrix)
    if options.forced == .csr {
      record(.csr, [:], matrix.byteCount, cached: false)
      return sparseKernel
    }
    let key = KernelChoiceCache.key(
      op: "Conv1x1", m: (shape.first ?? 1) * spatial, k: conv.inChannels, n: conv.outChannels,
      sparsity: conv.zeroFraction, candidates: [.dense, .csr], threads: options.threads, inputs: "")
    if let cached = options.cache?.lookup(key) {
      record(cached, [:], cached == .csr ? matrix.byteCount : conv.weight.count * 4, cached: true)
      return cached == .csr ? sparseKernel : denseKernel
    }
    // Inputs: the sample's activation, or seeded values of the inferred shape.
    var x = activations[node.inputs[0]]
    if x == nil || x!.dtype != .float32 {
      var rng = SeededGenerator(seed: 9)
      x = Tensor(shape: shape, floats: (0..<shape.reduce(1, *)).map { _ in rng.nextUniform() * 2 - 1 })
    }
    let inputs: [Tensor?] = node.inputs.map { name in name == node.inputs[0] ? x : graph.initializers[name] }
    var timings: [String: Double] = [:]
    for (name, kernel) in [("dense", denseKernel), ("csr", sparseKernel)] {
      var failed = false
      timings[name] = KernelTimer.bestSecondsPerCall {
        var ctx = OpContext(node: node, opset: graph.opsetVersion, inputs: inputs)
        if (try? kernel(&ctx)) == nil { failed = true }
      }
      if failed { timings[name] = .infinity }
    }
    let chosen: LinearKernel = (timings["csr"] ?? .infinity) < (timings["dense"] ?? .infinity) ? .csr : .dense
    options.cache?.store(key, chosen)
    record(chosen, timings, chosen == .csr ? matrix.byteCount : conv.weight.count * 4, cached: false)
    return chosen == .csr ? sparseKernel : denseKernel
  }

  /// An `Int8MatMul` layer: the dense int8 GEMM, or — when the weight has at least
  /// `minimumSparsity` zeros and the CPU runs the sparse int8 kernel — whichever of it and
  /// `spmmInt8` runs the layer's real (or seeded) activations faster, timed through their op kernels.
  /// `PRUNEKIT_KERNEL=sparse-int8` forces the sparse kernel, any other forced kernel the dense one.
  func int8Kernel(_ node: Node, weight w: Tensor, graph: Graph) throws -> OpKernel {
    // A shared QuantizeRows' output has no inferred shape: its source activation has the same.
    var source = node.inputs[0]
    if case .string(let x)? = node.attributes["source"] { source = x }
    let shape = shapes[source] ?? [1, w.shape[0]]
    let m = max(1, shape.dropLast().reduce(1, *))
    let sparsity = Double(w.rawBytes.reduce(0) { $0 + ($1 == 0 ? 1 : 0) }) / Double(max(w.count, 1))
    let denseKernel = try dense.kernel(for: node, in: graph)
    func record(_ kernel: LinearKernel, _ seconds: [String: Double], _ bytes: Int, cached: Bool) {
      self.record(
        Choice(
          node: node.name, weight: node.inputs[1], shape: "\(m)×\(w.shape[0])×\(w.shape[1])",
          sparsity: sparsity, kernel: kernel, seconds: seconds, weightBytes: bytes, fromCache: cached))
    }
    let denseBytes = w.count + w.shape[1] * 8
    let sparseAllowed =
      options.forced == .sparseInt8
      || (options.forced == nil && sparsity >= options.minimumSparsity && SparseInt8Matrix.hasFastKernel)
    guard sparseAllowed, graph.initializers[node.inputs[2]] != nil else {
      record(.int8, [:], denseBytes, cached: false)
      return denseKernel
    }
    let (sparseKernel, matrix) = try Int8Linear.sparseKernel(for: node, in: graph)
    if options.forced == .sparseInt8 {
      record(.sparseInt8, [:], matrix.byteCount, cached: false)
      return sparseKernel
    }
    let mode = (try? OpContext(node: node, opset: 0, inputs: []).string("quantization", default: "row")) ?? "row"
    let key = KernelChoiceCache.key(
      op: "Int8MatMul", m: m, k: w.shape[0], n: w.shape[1], sparsity: sparsity, candidates: [.int8, .sparseInt8],
      threads: options.threads, inputs: mode)
    if let cached = options.cache?.lookup(key), cached == .int8 || cached == .sparseInt8 {
      record(cached, [:], cached == .int8 ? denseBytes : matrix.byteCount, cached: true)
      return cached == .int8 ? denseKernel : sparseKernel
    }
    let inputs = try int8SampleInputs(node, shape: shape, graph: graph)
    var timings: [String: Double] = [:]
    for (kind, kernel) in [(LinearKernel.int8, denseKernel), (.sparseInt8, sparseKernel)] {
      var failed = false
      timings[kind.description] = KernelTimer.bestSecondsPerCall {
        var ctx = OpContext(node: node, opset: graph.opsetVersion, inputs: inputs)
        if (try? kernel(&ctx)) == nil { failed = true }
      }
      if failed { timings[kind.description] = .infinity }
    }
    let chosen: LinearKernel =
      (timings["sparse-int8"] ?? .infinity) < (timings["int8"] ?? .infinity) ? .sparseInt8 : .int8
    options.cache?.store(key, chosen)
    record(chosen, timings, chosen == .int8 ? denseBytes : matrix.byteCount, cached: false)
    return chosen == .int8 ? denseKernel : sparseKernel
  }

  /// Inputs to time an `Int8MatMul` on: the sample's activation, or seeded values of the inferred
  /// shape (u8 bytes with scales 1/64 and zero point 128 for the modes whose activation comes
  /// quantized: `tensor`, `quantized_rows`); bias and residual as the graph has them, or seeded.
  func int8SampleInputs(_ node: Node, shape: [Int], graph: Graph) throws -> [Tensor?] {
    var rng = SeededGenerator(seed: 11)
    let count = shape.reduce(1, *)
    let quantized =
      node.attributes["quantization"] == .string("tensor")
      || node.attributes["quantization"] == .string("quantized_rows")
    var x = activations[node.inputs[0]]
    if x == nil || x!.dtype != (quantized ? .uint8 : .float32) {
      x =
        quantized
        ? try Tensor(shape: shape, dtype: .uint8, bytes: (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) })
        : Tensor(shape: shape, floats: (0..<count).map { _ in rng.nextUniform() * 2 - 1 })
    }
    let rowScales = node.attributes["quantization"] == .string("quantized_rows")
    let n = graph.initializers[node.inputs[1]]?.shape.last ?? 1
    let outShape = Array(shape.dropLast()) + [n]
    return try node.inputs.enumerated().map { (i, name) -> Tensor? in
      if i == 0 { return x }
      if name.isEmpty { return nil }
      if let t = graph.initializers[name] { return t }
      switch i {
      case 5:
        let rows = rowScales ? Array(shape.dropLast()) : []
        return Tensor(shape: rows, floats: [Float](repeating: 1.0 / 64, count: rows.reduce(1, *)))
      case 6: return try Tensor(shape: [], dtype: .uint8, bytes: [128])
      default: return Tensor(shape: outShape, floats: [Float](repeating: 0.5, count: outShape.reduce(1, *)))
      }
    }
  }

  /// Whether `value` is the output of a Relu (or of a FusedMatMul with activation relu).
  static func followsReLU(_ value: String, in graph: Graph) -> Bool {
    guard let producer = graph.nodes.first(where: { $0.outputs.contains(value) }) else { return false }
    return producer.opType == "Relu" || producer.attributes["activation"] == .string("relu")
  }

  /// Fraction of `t`'s elements equal to its first element or to 0, whichever is larger.
  static func commonValueFraction(_ t: Tensor) -> Double {
    let v = t.asFloats()
    guard let first = v.first else { return 0 }
    var same = 0
    var zeros = 0
    for x in v {
      if x == first { same += 1 }
      if x == 0 { zeros += 1 }
    }
    return Double(max(same, zeros)) / Double(v.count)
  }
}

/// The choices a selector made, shared by its copies (the executor keeps its own copy).
final class ChoiceLog: Sendable {
  let entries = Mutex<[SparseKernelSelector.Choice]>([])
}
