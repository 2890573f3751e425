import Foundation
import ModelGraph
import TensorCore
import Testing

@testable import Runtime

/// Whole models against onnxruntime (Tests/Fixtures/onnx-coverage, made by
/// scripts/make_onnx_coverage.py): graph boundaries of every dtype, opset < 7 models, sequence ops,
/// 3-D convolution and pooling. Each output must match in dtype, shape and values (NaN where
/// onnxruntime has NaN); a case marked "refuse" must fail with an error holding its text.
@Suite struct ONNXCoverageTests {
  static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../Fixtures/onnx-coverage").standardized.path

  struct Case: Decodable, CustomStringConvertible, Sendable {
    var name: String
    var expect: String
    var error: String?
    var atol: Double
    var rtol: Double
    var inputs: [String]
    var outputs: [String]
    var description: String { name }
  }

  struct Manifest: Decodable { var cases: [Case] }

  static let cases: [Case] = {
    let url = URL(fileURLWithPath: folder).appendingPathComponent("cases.json")
    guard let data = try? Data(contentsOf: url) else { return [] }
    return (try? JSONDecoder().decode(Manifest.self, from: data).cases) ?? []
  }()

  @Test func manifestIsPresent() {
    #expect(Self.cases.count >= 8, "Tests/Fixtures/onnx-coverage/cases.json missing or unreadable")
  }

  @Test(arguments: cases) func matchesOnnxruntime(_ c: Case) throws {
    let io = try SafeTensorsFile(path: "\(Self.folder)/\(c.name).io.safetensors")
    func run() throws -> [String: Tensor] {
      let graph = try ONNXImporter.load(contentsOf: "\(Self.folder)/\(c.name).onnx")
      var feeds: [String: Tensor] = [:]
      for name in c.inputs { feeds[name] = try io.tensor(named: name) }
      return try Executor(graph: graph).run(feeds)
    }
    if c.expect == "refuse" {
      let error = #expect(throws: (any Error).self) { _ = try run() }
      #expect("\(error.map { "\($0)" } ?? "")".contains(c.error ?? ""), "\(c.name): \(String(describing: error))")
      return
    }
    let outputs = try run()
    for name in c.outputs {
      let expected = try io.tensor(named: name)
      let actual = try #require(outputs[name], "\(c.name): no output \(name)")
      #expect(actual.dtype == expected.dtype, "\(c.name).\(name): dtype")
      #expect(actual.shape == expected.shape, "\(c.name).\(name): shape")
      guard actual.dtype == expected.dtype, actual.shape == expected.shape else { continue }
      if expected.dtype.isFloatingPoint {
        let (a, e) = (Self.doubles(actual), Self.doubles(expected))
        let bad = zip(a, e).enumerated().first { _, pair in
          let (x, y) = pair
          if y.isNaN { return !x.isNaN }
          if y.isInfinite { return x != y }
          return Swift.abs(x - y) > c.atol + c.rtol * Swift.abs(y)
        }
        #expect(bad == nil, "\(c.name).\(name)[\(bad?.offset ?? -1)]: \(String(describing: bad?.element))")
      } else {
        #expect(actual.asInt64s() == expected.asInt64s(), "\(c.name).\(name)")
      }
    }
  }

  /// An upgraded opset-1/6 graph exports at opset 7 and reads back to the same outputs.
  @Test(arguments: ["opset1_legacy", "opset6_cnn"]) func upgradedModelExportsAtOpsetSeven(_ name: String) throws {
    let graph = try ONNXImporter.load(contentsOf: "\(Self.folder)/\(name).onnx")
    #expect(graph.opsetVersion == 7)
    let again = try ONNXImporter.decode(try ONNXExporter.serialized(graph))
    #expect(again.opsetVersion == 7)
    let io = try SafeTensorsFile(path: "\(Self.folder)/\(name).io.safetensors")
    let feeds = ["x": try io.tensor(named: "x")]
    let (a, b) = (try Executor(graph: graph).run(feeds)["out"], try Executor(graph: again).run(feeds)["out"])
    #expect(a != nil && a == b)
  }

  static func doubles(_ t: Tensor) -> [Double] {
    t.dtype == .float64
      ? t.rawBytes.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) } : t.asFloats().map(Double.init)
  }

  /// Values the computing types cannot hold are refused by input name, never rounded to ±inf or
  /// reinterpreted as negative.
  @Test func refusesValuesBeyondTheComputingType() throws {
    let graph = try ONNXImporter.load(contentsOf: "\(Self.folder)/f64_add_mul.onnx")
    let huge = [Double](repeating: 1e300, count: 6).withUnsafeBytes { Array($0) }
    let x = try Tensor(shape: [2, 3], dtype: .float64, bytes: huge)
    #expect(throws: (any Error).self) { _ = try Executor(graph: graph).run(["x": x, "y": x]) }
    do { _ = try Executor(graph: graph).run(["x": x, "y": x]) } catch {
      #expect("\(error)".contains("'x' (float64) holds 1e+300"))
    }
    let u = try ONNXImporter.load(contentsOf: "\(Self.folder)/uint64_identity_cast.onnx")
    let big = try Tensor(shape: [4], dtype: .uint64, bytes: [UInt64](repeating: 1 << 63, count: 4).withUnsafeBytes { Array($0) })
    do {
      _ = try Executor(graph: u).run(["x": big])
      Issue.record("a uint64 input ≥ 2⁶³ ran")
    } catch { #expect("\(error)".contains("'x' (uint64) holds 9223372036854775808")) }
  }

  /// Converting NaN, ±inf and out-of-range floats to integer or float64 storage never traps.
  @Test func conversionsOfNonFiniteValuesDoNotTrap() {
    let t = Tensor(shape: [5], floats: [.nan, .infinity, -.infinity, 1e30, -3.7])
    #expect(t.asInt64s() == [0, .max, .min, .max, -3])
    let d = t.converted(to: .float64)
    #expect(ONNXCoverageTests.doubles(d)[1] == .infinity && ONNXCoverageTests.doubles(d)[0].isNaN)
    #expect(t.converted(to: .int32).asInt64s() == [0, -1, 0, -1, -3])
  }
}
