import Foundation
import ModelGraph
import Runtime
import TensorCore
import Testing

@testable import Pruning

/// Layer discovery and the sequential one-shot protocol on a tiny random BERT.
@Suite struct SequentialPrunerTests {
  static let config = BertConfig(
    hiddenSize: 16, numAttentionHeads: 2, numHiddenLayers: 2, intermediateSize: 32, maxPositionEmbeddings: 16,
    vocabSize: 40)

  static func tinyBert(seed: UInt64 = 1) throws -> Graph {
    let c = config
    var shapes: [(String, [Int])] = [
      ("embeddings.word_embeddings.weight", [c.vocabSize, c.hiddenSize]),
      ("embeddings.position_embeddings.weight", [c.maxPositionEmbeddings, c.hiddenSize]),
      ("embeddings.token_type_embeddings.weight", [c.typeVocabSize, c.hiddenSize]),
    ]
    for norm in ["embeddings.LayerNorm"] + (0..<c.numHiddenLayers).flatMap({
      ["encoder.layer.\($0).attention.output.LayerNorm", "encoder.layer.\($0).output.LayerNorm"]
    }) {
      shapes += [("\(norm).weight", [c.hiddenSize]), ("\(norm).bias", [c.hiddenSize])]
    }
    for l in 0..<c.numHiddenLayers {
      let p = "encoder.layer.\(l)"
      let (h, i) = (c.hiddenSize, c.intermediateSize)
      for (m, out, inp) in [
        ("attention.self.query", h, h), ("attention.self.key", h, h), ("attention.self.value", h, h),
        ("attention.output.dense", h, h), ("intermediate.dense", i, h), ("output.dense", h, i),
      ] {
        shapes += [("\(p).\(m).weight", [out, inp]), ("\(p).\(m).bias", [out])]
      }
    }
    var weights: [String: Tensor] = [:]
    for (k, (name, shape)) in shapes.enumerated() {
      weights[name] = Tensor.normal(shape, std: 0.3, seed: seed &+ UInt64(k))
    }
    return try BertLoader.buildGraph(config: c, names: Array(weights.keys), source: "tiny") { weights[$0]! }
  }

  /// Two batches of random token ids with some padding.
  static func batches() -> [CalibrationBatch] {
    var generator = SeededGenerator(seed: 9)
    return [(3, 7), (2, 5)].map { batch, sequence in
      var ids: [Int64] = []
      var mask: [Int64] = []
      for b in 0..<batch {
        let length = sequence - b
        for s in 0..<sequence {
          ids.append(s < length ? Int64(1 + generator.next() % 39) : 0)
          mask.append(s < length ? 1 : 0)
        }
      }
      let shape = [batch, sequence]
      return CalibrationBatch(
        inputs: [
          "input_ids": Tensor(shape: shape, int64s: ids), "attention_mask": Tensor(shape: shape, int64s: mask),
          "token_type_ids": Tensor(shape: shape, int64s: [Int64](repeating: 0, count: ids.count)),
        ], realTokens: mask.map { $0 == 1 })
    }
  }

  @Test func findsTheLayersAndTheirSixLinears() throws {
    let layers = try EncoderLayers.find(in: try Self.tinyBert())
    #expect(layers.count == 2)
    for layer in layers {
      let names = layer.linears.map(\.weight)
      let p = "encoder.layer.\(layer.index)"
      #expect(
        names == [
          "\(p).attention.self.query.weight", "\(p).attention.self.key.weight", "\(p).attention.self.value.weight",
          "\(p).attention.output.dense.weight", "\(p).intermediate.dense.weight", "\(p).output.dense.weight",
        ])
      #expect(layer.linears.allSatisfy { $0.weightIsOutIn })
    }
  }

  @Test func aModelWithoutEncoderLayersIsAClearError() throws {
    let graph = Graph(
      nodes: [Node(name: "fc", opType: "MatMul", inputs: ["x", "w"], outputs: ["y"])],
      initializers: ["w": .zeros([4, 3])], inputs: [ValueInfo(name: "x", dtype: .float32, shape: nil)],
      outputs: [ValueInfo(name: "y", dtype: .float32, shape: nil)])
    let error = #expect(throws: PruningError.self) { try SequentialPruner(graph: graph) }
    let text = error?.description ?? ""
    #expect(text.contains("encoder layers") && text.contains("query, key, value") && text.contains("1 Linears"))
  }

  /// Layer 1's masks must come from statistics of the *pruned* layer 0's outputs (sequential), and the
  /// masked zeros must survive the ONNX export.
  @Test func prunesSequentiallyAndTheZerosSurviveExport() throws {
    let dense = try Self.tinyBert()
    var graph = dense
    let pruner = try SequentialPruner(graph: graph)
    let report = try pruner.prune(
      &graph, batches: Self.batches(), criterion: WandaImportance(), targets: [.sparsity(0.5)])
    #expect(report.calibrationTokens == (7 + 6 + 5) + (5 + 4))
    #expect(abs(report.sparsity - 0.5) < 1e-12)
    // Expected layer-1 masks: dense model with only layer 0 pruned, inputs observed over real tokens.
    var half = dense
    for site in pruner.layers[0].linears { half.initializers[site.weight] = graph.initializers[site.weight] }
    let executor = try Executor(graph: half, optimize: false)
    var squares: [String: [Float]] = [:]
    for batch in Self.batches() {
      let out = try executor.run(batch.inputs, keeping: Set(pruner.layers[1].linears.map(\.input)))
      for site in pruner.layers[1].linears {
        let x = out[site.input]!.floats
        var s = squares[site.input] ?? [Float](repeating: 0, count: site.inFeatures)
        for r in batch.realTokens.indices where batch.realTokens[r] {
          for c in 0..<site.inFeatures { s[c] += x[r * site.inFeatures + c] * x[r * site.inFeatures + c] }
        }
        squares[site.input] = s
      }
    }
    for site in pruner.layers[1].linears {
      let expected = wandaMaskReference(
        weights: dense.initializers[site.weight]!.floats, rows: site.outFeatures, cols: site.inFeatures,
        inputSquares: squares[site.input]!, target: .sparsity(0.5))
      let found = graph.masks[site.weight]!.floats
      let differing = zip(expected, found).filter { $0 != $1 }.count
      #expect(differing <= 2, "\(site.weight): \(differing) mask entries differ")  // float summation order
    }
    // Export → import: every masked weight is still exactly zero, and the model runs.
    let path = NSTemporaryDirectory() + "oneshot-\(UUID().uuidString).onnx"
    defer { try? FileManager.default.removeItem(atPath: path) }
    try ModelFile.save(graph, to: path)
    let back = try ModelFile.load(path)
    for site in pruner.layers.flatMap(\.linears) {
      let w = back.initializers[site.weight]!.floats
      let m = graph.masks[site.weight]!.floats
      #expect(zip(w, m).allSatisfy { $1 != 0 || $0 == 0 })
    }
    let out = try Executor(graph: back).run(Self.batches()[0].inputs)
    #expect(out["last_hidden_state"]!.floats.allSatisfy { $0.isFinite })
  }

  @Test func owlAndSparseGPTRunOnTheTinyModel() throws {
    var graph = try Self.tinyBert()
    let pruner = try SequentialPruner(graph: graph)
    let ratios = try pruner.outlierRatios(graph: graph, batches: Self.batches(), threshold: 2)
    #expect(ratios.count == 2 && ratios.allSatisfy { $0 >= 0 && $0 < 1 })
    let report = try pruner.prune(
      &graph, batches: Self.batches(), criterion: SparseGPTImportance(blockSize: 8),
      targets: [.sparsity(0.4), .sparsity(0.6)])
    #expect(abs(report.layers[0].sparsity - 0.4) < 0.01 && abs(report.layers[1].sparsity - 0.6) < 0.01)
    #expect(throws: PruningError.self) {
      try pruner.prune(&graph, batches: [], criterion: WandaImportance(), targets: [.sparsity(0.5)])
    }
  }
}
