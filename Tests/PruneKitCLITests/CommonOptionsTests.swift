import Foundation
import Testing

@testable import prunekit

/// The shared vocabulary's pieces, in-process: the JSON envelope's key style and the error form.
@Suite struct CommonOptionsTests {
  @Test(arguments: [
    ("itemsPerSecond", "items_per_second"), ("p50Ms", "p50_ms"), ("nonzeroMACsAfter", "nonzero_macs_after"),
    ("model", "model"), ("latencyP10Ms", "latency_p10_ms"), ("schemaVersion", "schema_version"),
  ])
  func propertyNamesBecomeSnakeCase(_ name: String, _ expected: String) {
    #expect(JSONOutput.snakeCase(name) == expected)
  }

  /// Dictionary keys are data (layer names, storages) and keep their spelling; numbers stay numbers.
  @Test func envelopeKeepsDataKeysAndNumbers() throws {
    struct Result: Encodable {
      let bytesOnDisk: Int
      let ratio: Double
      let sparsities: [String: Double]
    }
    let text = try JSONOutput.text(
      Result(bytesOnDisk: 12, ratio: 1.5, sparsities: ["fc1.weight": 0.9, "onnx::Conv_42": 0.5, "denseFP32": 1]),
      command: "test")
    let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    #expect(object["schema"] as? String == "prunekit.test" && object["schema_version"] as? Int == 1)
    let result = try #require(object["result"] as? [String: Any])
    #expect(result["bytes_on_disk"] as? Int == 12 && result["ratio"] as? Double == 1.5)
    #expect((result["sparsities"] as? [String: Double])?.keys.sorted() == ["denseFP32", "fc1.weight", "onnx::Conv_42"])
  }

  @Test func commandPathsNameTheSubcommand() {
    #expect(ErrorReport.commandPath(BenchModelCommand.self) == ["prunekit", "bench", "model"])
    #expect(ErrorReport.commandPath(EnergyCommand.self) == ["prunekit", "energy"])
    #expect(ErrorReport.commandPath(PruneKitCommand.self) == ["prunekit"])
  }
}
