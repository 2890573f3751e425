import Foundation
import Testing

@testable import Report

@Suite struct RunRecordTests {
  private func sample() -> RunRecord {
    var record = RunRecord(
      label: "magnitude 90%",
      model: .init(
        path: "m.onnx", format: "onnx", sizeBytes: 1234, parameters: 1000, nonzeroParameters: 100,
        macs: 5000, macsInput: "1×784"))
    record.recipe = .init(method: "magnitude", targetSparsity: 0.9, pattern: "unstructured", seed: 1)
    record.accuracy = .init(top1: 0.98, topK: ["5": 0.999], macroF1: 0.97)
    record.calibration = .init(
      ece: 0.01, bins: [.init(lower: 0, upper: 0.5, count: 3, meanConfidence: 0.4, accuracy: 0.33)])
    return record
  }

  @Test func roundTripsWithSnakeCaseKeysAndStableBytes() throws {
    let record = sample()
    let data = try record.encoded()
    let text = String(decoding: data, as: UTF8.self)
    #expect(text.contains("\"schema\" : \"prunekit.run\""))
    #expect(text.contains("\"schema_version\" : 1"))
    #expect(text.contains("\"nonzero_parameters\" : 100"))
    #expect(text.contains("\"target_sparsity\" : 0.9"))
    let back = try RunRecord.decode(data, path: "r.json")
    #expect(back == record)
    #expect(try back.encoded() == data)
    #expect(abs(back.model.sparsity - 0.9) < 1e-12)
  }

  @Test func refusesOtherSchemasVersionsAndMissingFieldsNamingTheFile() throws {
    let cases: [(String, String)] = [
      ("[1, 2]", "not a JSON object"),
      (#"{"schema": "prunekit.energy", "schema_version": 1}"#, "expected 'prunekit.run'"),
      (#"{"schema": "prunekit.run", "schema_version": 99}"#, "schema_version 99"),
      (#"{"schema": "prunekit.run", "schema_version": 1, "label": "x"}"#, "missing 'model'"),
      (
        #"{"schema": "prunekit.run", "schema_version": 1, "label": "x", "model": {"path": "a", "format": "onnx", "size_bytes": "big", "parameters": 1, "nonzero_parameters": 1}}"#,
        "wrong type at 'model.sizeBytes'"
      ),
    ]
    for (json, expected) in cases {
      #expect {
        try RunRecord.decode(Data(json.utf8), path: "cell-3.json")
      } throws: { error in
        let text = "\(error)"
        return text.hasPrefix("cell-3.json: ") && text.contains(expected)
      }
    }
  }

  @Test func writesAtomicallyAndRefusesNonFiniteNumbers() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rr-\(UUID())")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let path = folder.appendingPathComponent("run.json").path
    try sample().write(to: path)
    #expect(try RunRecord.read(from: path) == sample())
    var bad = sample()
    bad.accuracy = .init(top1: .nan)
    let other = folder.appendingPathComponent("bad.json").path
    #expect(throws: (any Error).self) { try bad.write(to: other) }
    #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["run.json"])
  }
}
