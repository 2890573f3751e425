import Foundation
import PruneKit
import Testing

/// `prunekit prune --method wanda|sparsegpt --calib …` and `prunekit eval-embeddings` end to end on
/// all-MiniLM-L6-v2 (../shared), with a few calibration texts; and their bad inputs.
@Suite(.serialized) struct OneShotCLITests {
  static let model = CLI.packageRoot + "/../shared/models/all-MiniLM-L6-v2/onnx/model.onnx"
  static let tweets = CLI.packageRoot + "/../shared/data/tweets-sentiment/tweets.csv"
  static var available: Bool { FileManager.default.fileExists(atPath: model) }

  @Test(.enabled(if: available)) func wandaPrunesAndEvalEmbeddingsMeasuresIt() throws {
    let folder = try CLI.temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let out = folder + "/w.onnx"
    let prune = try CLI.run([
      "prune", Self.model, "--method", "wanda", "--calib", "\(Self.tweets):text:0..15", "--pattern", "2:4",
      "-o", out, "--json",
    ])
    #expect(prune.status == 0, "\(prune.output)")
    let summary = try CLI.jsonResult(OneShotSummary.self, from: prune.stdout, command: "prune")
    #expect(summary.calibrationTexts == 16 && summary.layerSparsities.count == 6)
    #expect(abs(summary.sparsity - 0.5) < 1e-9 && summary.prunedWeights == 10_616_832)
    let eval = try CLI.run([
      "eval-embeddings", out, "--dense", Self.model, "--texts", "\(Self.tweets):text:1000..1019", "--probe",
      "\(Self.tweets):text:sentiment:5000..", "--probe-where", "confidence>=0.6", "--probe-sample", "300", "--json",
    ])
    #expect(eval.status == 0, "\(eval.output)")
    let result = try CLI.jsonResult(EmbeddingEvaluation.self, from: eval.stdout, command: "eval-embeddings")
    #expect(result.fidelityTexts == 20 && result.dense.fidelity.mean > 0.99999)
    let pruned = try #require(result.models.first)
    #expect(pruned.fidelity.mean > 0.3 && pruned.fidelity.mean < 0.99 && pruned.fidelity.min <= pruned.fidelity.mean)
    #expect(pruned.probeAccuracy != nil && pruned.flips != nil && result.classes == ["negative", "neutral", "positive"])
  }

  /// A Hugging Face folder in, a folder out (config.json, model.safetensors, tokenizer), as for the
  /// other prune modes; the written folder reads back with half of its Linear weights zero.
  @Test(.enabled(if: available)) func oneShotOfAFolderWritesAFolder() throws {
    let folder = try CLI.temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let source = CLI.packageRoot + "/../shared/models/all-MiniLM-L6-v2"
    let out = folder + "/minilm-wanda"
    let prune = try CLI.run([
      "prune", source, "--method", "wanda", "--calib", "\(Self.tweets):text:0..7", "--sparsity", "0.5", "-o", out,
    ])
    #expect(prune.status == 0, "\(prune.output)")
    let files = CLI.listing(out)
    #expect(files.contains("config.json") && files.contains("model.safetensors") && files.contains("vocab.txt"), "\(files)")
    let graph = try ModelFile.loadAny(out)
    let query = try #require(graph.initializers.first { $0.key.contains("layer.0") && $0.key.contains("query") && $0.value.shape.count == 2 }?.value)
    let zeros = query.floats.filter { $0 == 0 }.count
    #expect(zeros == query.count / 2, "\(zeros) of \(query.count) zero")
  }

  @Test(.enabled(if: available)) func badCalibrationInputsAreClearErrors() throws {
    let folder = try CLI.temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try Data("text,label\nhello,1\n\"  \",0\n".utf8).write(to: URL(fileURLWithPath: folder + "/empty.csv"))
    let out = folder + "/p.onnx"
    let cases: [([String], [String])] = [
      (["--method", "wanda", "--calib", "\(Self.tweets):tweet:0..7"], ["no column 'tweet'", "sentiment, confidence, text"]),
      (["--method", "wanda", "--calib", "\(Self.tweets):text:38000..38200"], ["out of range", "38158 records"]),
      (["--method", "sparsegpt", "--calib", "\(folder)/empty.csv:text"], ["record 1", "empty"]),
      (["--method", "wanda", "--calib", "\(Self.tweets):text:0..7", "--sparsity", "0"], ["--sparsity", "(0, 1)"]),
      (["--method", "wanda", "--calib", "\(Self.tweets):text:0..7", "--sparsity", "1.5"], ["--sparsity"]),
      (["--method", "wanda"], ["--calib"]),
      (["--method", "obs", "--calib", "\(Self.tweets):text:0..7"], ["wanda", "sparsegpt", "movement"]),
      (["--method", "wanda", "--calib", "\(Self.tweets):text:9..2"], ["rows '9..2'"]),
    ]
    for (arguments, expected) in cases {
      let r = try CLI.run(["prune", Self.model] + arguments + ["-o", out])
      #expect(r.status != 0 && r.status != -1, "\(arguments): \(r.output)")
      for text in expected { #expect(r.output.contains(text), "\(arguments): \(r.output)") }
      #expect(!FileManager.default.fileExists(atPath: out))
    }
    // A model with no encoder layers.
    let mlp = try CLI.run(["prune", CLI.fixtures + "/mlp.onnx", "--method", "wanda", "--calib", "\(Self.tweets):text:0..3", "--tokenizer", CLI.packageRoot + "/../shared/models/all-MiniLM-L6-v2", "-o", out])
    #expect(mlp.status != 0 && mlp.output.contains("encoder layers") && mlp.output.contains("query, key, value"), "\(mlp.output)")
    #expect(!FileManager.default.fileExists(atPath: out))
  }
}
