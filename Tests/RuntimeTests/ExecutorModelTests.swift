import Foundation
import ModelGraph
import TensorCore
import Testing

@testable import Runtime

/// End to end on real models: the ONNX fixtures against onnxruntime's outputs, and all-MiniLM-L6-v2
/// against PyTorch / sentence-transformers (../shared/models/all-MiniLM-L6-v2/reference.safetensors).
@Suite struct ExecutorModelTests {
  /// Max abs difference allowed against onnxruntime on the fixtures (issue 3).
  static let fixtureTolerance: Float = 1e-4
  /// Max abs difference allowed on MiniLM's last_hidden_state, and the least cosine similarity of
  /// the pooled sentence embeddings (issue 3).
  static let hiddenTolerance: Float = 1e-3
  static let minimumCosine: Float = 0.9999

  static let miniLM = "../shared/models/all-MiniLM-L6-v2"

  @Test(arguments: ["mlp", "lenet5", "resblock"])
  func fixtureMatchesOnnxRuntime(_ name: String) throws {
    let graph = try ModelFile.load("../shared/fixtures/onnx/\(name).onnx")
    let io = try SafeTensorsFile(path: "../shared/fixtures/onnx/\(name).io.safetensors")
    let outputs = try Executor(graph: graph).run(["input": try io.tensor(named: "input")])
    let want = try io.tensor(named: "output")
    let got = try #require(outputs[graph.outputs[0].name])
    #expect(got.shape == want.shape)
    let worst = zip(got.floats, want.floats).map { abs($0 - $1) }.max() ?? .infinity
    #expect(worst <= Self.fixtureTolerance, "\(name): max abs difference \(worst)")
  }

  @Test func miniLMFromONNXMatchesReference() throws {
    let graph = try ModelFile.load("\(Self.miniLM)/onnx/model.onnx")
    let reference = try SafeTensorsFile(path: "\(Self.miniLM)/reference.safetensors")
    var feeds: [String: Tensor] = [:]
    for name in ["input_ids", "attention_mask", "token_type_ids"] {
      feeds[name] = try reference.tensor(named: name)
    }
    let hidden = try #require(try Executor(graph: graph).run(feeds)["last_hidden_state"])
    let want = try reference.tensor(named: "last_hidden_state")
    #expect(hidden.shape == want.shape)
    let worst = zip(hidden.floats, want.floats).map { abs($0 - $1) }.max() ?? .infinity
    #expect(worst <= Self.hiddenTolerance, "last_hidden_state: max abs difference \(worst)")

    let embeddings = Self.meanPooledNormalised(hidden, mask: feeds["attention_mask"]!)
    let wantEmbeddings = try reference.tensor(named: "sentence_embedding")
    let width = 384
    let cosines = (0..<wantEmbeddings.shape[0]).map { s -> Float in
      let a = embeddings[(s * width)..<((s + 1) * width)]
      let b = wantEmbeddings.floats[(s * width)..<((s + 1) * width)]
      let dot = zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
      let norm = (b.reduce(0) { $0 + $1 * $1 }).squareRoot()
      return dot / norm  // `a` is unit length
    }
    #expect(cosines.count == 64)
    #expect(cosines.min()! >= Self.minimumCosine, "least cosine \(cosines.min()!)")
  }

  /// Sentence-transformers pooling: mean of token vectors where the mask is 1, then L2 normalisation.
  static func meanPooledNormalised(_ hidden: Tensor, mask: Tensor) -> [Float] {
    let (batch, sequence, width) = (hidden.shape[0], hidden.shape[1], hidden.shape[2])
    let h = hidden.floats
    let m = mask.int64s
    var out = [Float](repeating: 0, count: batch * width)
    for b in 0..<batch {
      var count: Float = 0
      for t in 0..<sequence where m[b * sequence + t] != 0 {
        count += 1
        for j in 0..<width { out[b * width + j] += h[(b * sequence + t) * width + j] }
      }
      var norm: Float = 0
      for j in 0..<width {
        out[b * width + j] /= max(count, 1)
        norm += out[b * width + j] * out[b * width + j]
      }
      let inv = 1 / max(norm.squareRoot(), 1e-12)
      for j in 0..<width { out[b * width + j] *= inv }
    }
    return out
  }

  @Test func intermediatesAreFreedAfterLastUseAndKeptOnRequest() throws {
    let graph = try ModelFile.load("../shared/fixtures/onnx/mlp.onnx")
    // Unfused, so that every node of the graph is observed (fused, Gemm + Relu run as one node whose
    // output is still the Relu's, kept below too).
    let executor = try Executor(graph: graph, optimize: false)
    let fused = try Executor(graph: graph)
    #expect(fused.steps.count == 4)
    let x = Tensor.uniform([2, 1, 28, 28], seed: 3)
    #expect(try fused.run(["input": x], keeping: ["/f/f.2/Relu_output_0"])["/f/f.2/Relu_output_0"]?.shape == [2, 300])
    var seen: [String] = []
    let outputs = try executor.run(["input": x], keeping: ["/f/f.2/Relu_output_0"]) { node, _ in
      seen.append(node.name)
    }
    #expect(seen == graph.nodes.map(\.name))
    #expect(outputs["/f/f.2/Relu_output_0"]?.shape == [2, 300])
    #expect(Set(outputs.keys) == Set([graph.outputs[0].name, "/f/f.2/Relu_output_0"]))
    // Batch is dynamic: one executor runs any batch size.
    #expect(
      try executor.run(["input": Tensor.uniform([5, 1, 28, 28], seed: 4)])[graph.outputs[0].name]?.shape == [
        5, 10,
      ])
  }

  @Test func wrongInputShapeOrDtypeIsAnError() throws {
    let executor = try Executor(graph: try ModelFile.load("../shared/fixtures/onnx/mlp.onnx"))
    #expect(throws: ModelGraphError.self) { try executor.run(["input": .zeros([1, 28, 28])]) }
    #expect(throws: ModelGraphError.self) {
      try executor.run(["input": Tensor(shape: [1, 1, 28, 28], int64s: .init(repeating: 0, count: 784))])
    }
    #expect(throws: ModelGraphError.missingValue(node: "graph input", name: "input")) {
      try executor.run([:])
    }
  }
}
