import Foundation
import ModelGraph
import TensorCore
import Testing

@testable import Runtime

/// The sparse kernels behind the executor give the dense answer, whatever the selector picks.
@Suite struct SparseSelectorTests {
  static let tolerance: Float = 1e-5

  /// A LeNet-300-100-like MLP (Gemm transB = 1 → Relu → Gemm → Relu → Gemm) with magnitude-masked weights.
  static func mlp(sparsity: Double, nm: Bool = false, seed: UInt64 = 3) -> Graph {
    var rng = SeededGenerator(seed: seed)
    let sizes = [(40, 24), (24, 16), (16, 10)]  // (in, out)
    var nodes: [Node] = []
    var initializers: [String: Tensor] = [:]
    var current = "x"
    for (i, (inputs, outputs)) in sizes.enumerated() {
      var w = (0..<(outputs * inputs)).map { _ in rng.nextUniform() * 2 - 1 }
      if nm {
        for o in 0..<outputs {
          for g in 0..<(inputs / 4) {
            let base = o * inputs + g * 4
            let order = (0..<4).sorted { abs(w[base + $0]) > abs(w[base + $1]) }
            for j in order.dropFirst(2) { w[base + j] = 0 }
          }
        }
      } else {
        let threshold = w.map(abs).sorted()[Int(Double(w.count) * sparsity)]
        for j in w.indices where abs(w[j]) < threshold { w[j] = 0 }
      }
      initializers["w\(i)"] = Tensor(shape: [outputs, inputs], floats: w)
      initializers["b\(i)"] = Tensor(shape: [outputs], floats: (0..<outputs).map { Float($0) * 0.01 })
      let out = i == sizes.count - 1 ? "logits" : "h\(i)"
      nodes.append(
        Node(
          name: "fc\(i)", opType: "Gemm", inputs: [current, "w\(i)", "b\(i)"],
          outputs: [i == sizes.count - 1 ? out : "g\(i)"],
          attributes: ["transB": .int(1)]))
      if i < sizes.count - 1 {
        nodes.append(Node(name: "relu\(i)", opType: "Relu", inputs: ["g\(i)"], outputs: [out]))
      }
      current = out
    }
    return Graph(
      nodes: nodes, initializers: initializers,
      inputs: [ValueInfo(name: "x", dtype: .float32, shape: [.symbolic("batch"), .fixed(40)])],
      outputs: [ValueInfo(name: "logits", dtype: .float32, shape: nil)])
  }

  static func options(_ forced: LinearKernel?) -> SparseKernelSelector.Options {
    var o = SparseKernelSelector.Options()
    o.forced = forced
    o.cache = nil
    return o
  }

  @Test(arguments: [1, 3, 37], [LinearKernel.csr, .csc, .blocked, nil])
  func everyKernelGivesTheDenseAnswer(batch: Int, forced: LinearKernel?) throws {
    let graph = Self.mlp(sparsity: 0.9)
    let x = Tensor.uniform([batch, 40], low: -1, high: 1, seed: 5)
    let dense = try Executor(graph: graph, optimize: false).run(["x": x])["logits"]!
    let selector = SparseKernelSelector(
      graph: graph, inputShapes: ["x": [batch, 40]], options: Self.options(forced))
    let executor = try Executor(graph: graph, selector: selector)
    // Gemm + bias + Relu became one fused node each.
    #expect(executor.steps.map(\.node.opType) == ["FusedMatMul", "FusedMatMul", "FusedMatMul"])
    #expect(executor.steps.prefix(2).allSatisfy { $0.node.attributes["activation"] == .string("relu") })
    let got = try executor.run(["x": x])["logits"]!
    #expect(got.shape == dense.shape)
    let worst = zip(got.floats, dense.floats).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? .infinity
    #expect(worst <= Self.tolerance, "\(String(describing: forced)) batch \(batch): \(worst)")
    let choices = selector.choices
    #expect(choices.count == 3)
    if let forced, (forced != .csc && forced != .blocked) || batch <= 16 {
      #expect(choices.allSatisfy { $0.kernel == forced })
    }
    #expect(choices.allSatisfy { $0.sparsity > 0.85 })
  }

  @Test func nmWeightsAreRecognisedAndRun() throws {
    let graph = Self.mlp(sparsity: 0, nm: true)
    let x = Tensor.uniform([5, 40], low: -1, high: 1, seed: 6)
    let dense = try Executor(graph: graph, optimize: false).run(["x": x])["logits"]!
    let selector = SparseKernelSelector(
      graph: graph, inputShapes: ["x": [5, 40]], options: Self.options(.nm(keep: 2, group: 4)))
    let got = try Executor(graph: graph, selector: selector).run(["x": x])["logits"]!
    #expect(selector.choices.allSatisfy { $0.kernel == .nm(keep: 2, group: 4) })
    let worst = zip(got.floats, dense.floats).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? .infinity
    #expect(worst <= Self.tolerance)
  }

  @Test func measuredChoiceIsCachedPerShape() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-cache-\(getpid())")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let cache = KernelChoiceCache(path: folder.appendingPathComponent("kernel-choices.json").path)
    var options = Self.options(nil)
    options.cache = cache
    let graph = Self.mlp(sparsity: 0.9)
    let first = SparseKernelSelector(graph: graph, inputShapes: ["x": [1, 40]], options: options)
    _ = try Executor(graph: graph, selector: first)
    #expect(first.choices.allSatisfy { !$0.fromCache && !$0.seconds.isEmpty })
    // A fresh cache object reading the same file: nothing is measured again.
    options.cache = KernelChoiceCache(path: cache.path)
    let second = SparseKernelSelector(graph: graph, inputShapes: ["x": [1, 40]], options: options)
    _ = try Executor(graph: graph, selector: second)
    #expect(second.choices.allSatisfy { $0.fromCache })
    #expect(second.choices.map(\.kernel) == first.choices.map(\.kernel))
  }

  /// Weight-shared layers (a `.pkz`'s k-means codes): the kernels read 1-byte codes and the table, with
  /// the same answer as the dequantized Float32 weights.
  @Test(arguments: [1, 37], [LinearKernel.csr, .csc, nil])
  func codebookWeightsRunFromTheirCodes(batch: Int, forced: LinearKernel?) throws {
    var graph = Self.mlp(sparsity: 0.9)
    let table: [Float] = [-0.9, -0.5, -0.2, 0.3, 0.6, 1.0]
    var codebooks: [String: WeightCodebook] = [:]
    for name in ["w0", "w1", "w2"] {
      let w = graph.initializers[name]!
      var values = w.floats
      var positions: [Int] = []
      var codes: [UInt8] = []
      for (i, v) in values.enumerated() where v != 0 {
        let code = table.indices.min { abs(table[$0] - v) < abs(table[$1] - v) }!
        values[i] = table[code]
        positions.append(i)
        codes.append(UInt8(code))
      }
      graph.initializers[name] = Tensor(shape: w.shape, floats: values)  // as a .pkz decodes it
      codebooks[name] = WeightCodebook(positions: positions, codes: codes, table: table)
    }
    let x = Tensor.uniform([batch, 40], low: -1, high: 1, seed: 8)
    let dense = try Executor(graph: graph, optimize: false).run(["x": x])["logits"]!
    var options = Self.options(forced)
    options.codebooks = codebooks
    let selector = SparseKernelSelector(graph: graph, inputShapes: ["x": [batch, 40]], options: options)
    let got = try Executor(graph: graph, selector: selector).run(["x": x])["logits"]!
    let worst = zip(got.floats, dense.floats).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? .infinity
    #expect(worst <= Self.tolerance, "\(String(describing: forced)) batch \(batch): \(worst)")
    // The same kernels on Float32 values hold more bytes: 4-byte values instead of 1-byte codes.
    let plain = SparseKernelSelector(
      graph: graph, inputShapes: ["x": [batch, 40]], options: Self.options(forced))
    _ = try Executor(graph: graph, selector: plain)
    for (coded, float) in zip(selector.choices, plain.choices)
    where coded.kernel == float.kernel && coded.kernel != .dense {
      #expect(
        coded.weightBytes < float.weightBytes, "\(coded.node): \(coded.weightBytes) vs \(float.weightBytes) B"
      )
    }
  }

  @Test func kernelNamesParseAndPrintBack() {
    for name in ["dense", "csr", "csc", "blocked", "2:4", "4:8", "1:4"] {
      #expect(LinearKernel(parsing: name)?.description == name)
    }
    #expect(LinearKernel(parsing: "BSR") == .blocked)
    #expect(LinearKernel(parsing: "avx512") == nil)  // a GEMM micro-kernel name, not a layer kernel
    #expect(LinearKernel(parsing: "3:4") == nil)
  }

  @Test func unreadableCacheFileIsIgnoredAndRewritten() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-cache-\(getpid())-bad.json").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    try Data("{ not json".utf8).write(to: URL(fileURLWithPath: path))
    let cache = KernelChoiceCache(path: path)
    #expect(cache.lookup("anything") == nil)
    cache.store("k", .csr)
    #expect(KernelChoiceCache(path: path).lookup("k") == .csr)
  }

  @Test func denseLayersAreNotMeasured() throws {
    let graph = Self.mlp(sparsity: 0.0)
    let selector = SparseKernelSelector(
      graph: graph, inputShapes: ["x": [2, 40]], options: Self.options(nil))
    _ = try Executor(graph: graph, selector: selector)
    #expect(selector.choices.allSatisfy { $0.kernel == .dense && $0.seconds.isEmpty })
  }
}
