import Foundation
import TensorCore
import Testing

@testable import ModelGraph

/// Temporary files for one test, removed at the end of the test.
final class TemporaryFolder {
  let path: String
  init() throws {
    path = NSTemporaryDirectory() + "prunekit-test-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }
  deinit { try? FileManager.default.removeItem(atPath: path) }
  func write(_ name: String, _ bytes: [UInt8]) throws -> String {
    let file = "\(path)/\(name)"
    try Data(bytes).write(to: URL(fileURLWithPath: file))
    return file
  }
}

/// Little-endian bytes of a typed array.
func leBytes<T>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }

/// A safetensors file from a header text and a data buffer of `data` zero bytes.
func rawSafeTensors(_ header: String, data: Int) -> [UInt8] {
  let h = Array(header.utf8)
  return leBytes([UInt64(h.count).littleEndian]) + h + [UInt8](repeating: 0, count: data)
}

@Suite struct SafeTensorsTests {
  static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fixtures/safetensors").path

  /// The golden tensors of scripts/safetensors_golden.py, rebuilt from the same formulas.
  static func goldenTensors() throws -> [String: Tensor] {
    func ints(_ n: Int, signed: Bool) -> [Int64] {
      (0..<n).map { signed ? Int64($0) * 37 - 50 : Int64($0) * 37 }
    }
    func floats(_ n: Int) -> [Double] { (0..<n).map { Double($0 - 3) * 0.375 } }
    func bytesTensor(_ shape: [Int], _ dtype: DType, _ bytes: [UInt8]) throws -> Tensor {
      try Tensor(shape: shape, dtype: dtype, bytes: bytes)
    }
    return [
      "f64": try bytesTensor([2, 3], .float64, leBytes(floats(6))),
      "f32": Tensor(shape: [2, 3], floats: floats(6).map { Float($0) }),
      "f16": try bytesTensor([3, 2], .float16, leBytes(floats(6).map { Float16($0).bitPattern })),
      "i64": Tensor(shape: [4], int64s: ints(4, signed: true)),
      "i32": try bytesTensor([2, 2], .int32, leBytes(ints(4, signed: true).map { Int32($0) })),
      "i16": try bytesTensor([5], .int16, leBytes(ints(5, signed: true).map { Int16($0) })),
      "i8": try bytesTensor([7], .int8, leBytes(ints(7, signed: true).map { Int8(truncatingIfNeeded: $0) })),
      "u8": try bytesTensor([9], .uint8, ints(9, signed: false).map { UInt8(truncatingIfNeeded: $0) }),
      "u16": try bytesTensor([3], .uint16, leBytes(ints(3, signed: false).map { UInt16($0) })),
      "u32": try bytesTensor([2], .uint32, leBytes(ints(2, signed: false).map { UInt32($0) })),
      "u64": try bytesTensor([2], .uint64, leBytes(ints(2, signed: false).map { UInt64($0) })),
      "bool": try bytesTensor([2, 2], .bool, (0..<4).map { $0 % 3 == 0 ? 1 : 0 }),
      "scalar_f32": Tensor(shape: [], floats: [-1.125]),
      "empty_f32": Tensor(shape: [0, 4], floats: []),
      "a.dotted/name": Tensor(shape: [1], floats: [-1.125]),
    ]
  }

  static let goldenMetadata = ["producer": "scripts/safetensors_golden.py"]

  @Test func readsTheReferenceImplementationsFile() throws {
    let file = try SafeTensorsFile(path: "\(Self.fixtures)/golden.safetensors")
    let expected = try Self.goldenTensors()
    #expect(Set(file.names) == Set(expected.keys))
    #expect(file.metadata == Self.goldenMetadata)
    for (name, tensor) in expected {
      let read = try file.tensor(named: name)
      #expect(read == tensor, "tensor \(name)")
    }
  }

  @Test func writesTheSameBytesAsTheReferenceImplementation() throws {
    let golden = try Data(contentsOf: URL(fileURLWithPath: "\(Self.fixtures)/golden.safetensors"))
    let ours = SafeTensorsWriter.serialize(tensors: try Self.goldenTensors(), metadata: Self.goldenMetadata)
    #expect(ours == Array(golden))
  }

  /// Random raw bytes (NaN payloads included) for every dtype survive write → read bit for bit.
  @Test(arguments: DType.allCases) func roundTripIsBitExact(dtype: DType) throws {
    var rng = SeededGenerator(seed: 7 + UInt64(dtype.byteWidth))
    let shapes: [[Int]] = [[3, 5], [], [0], [2, 1, 4]]
    var tensors: [String: Tensor] = [:]
    for (i, shape) in shapes.enumerated() {
      let n = Tensor.elementCount(shape) * dtype.byteWidth
      var bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
      if dtype == .bool { bytes = bytes.map { $0 & 1 } }
      tensors["t\(i)"] = try Tensor(shape: shape, dtype: dtype, bytes: bytes)
    }
    let folder = try TemporaryFolder()
    let path = "\(folder.path)/round.safetensors"
    try SafeTensorsWriter.write(tensors, metadata: ["k": "v \"quoted\"\n"], to: path)
    let file = try SafeTensorsFile(path: path)
    #expect(file.metadata == ["k": "v \"quoted\"\n"])
    #expect(file.header.dataStart % 8 == 0)
    for (name, tensor) in tensors {
      let read = try file.tensor(named: name)
      #expect(read.dtype == dtype && read.shape == tensor.shape)
      #expect(read.rawBytes == tensor.rawBytes, "tensor \(name) \(dtype)")
    }
    let onDisk = try Data(contentsOf: URL(fileURLWithPath: path))
    #expect(Array(onDisk) == SafeTensorsWriter.serialize(tensors: tensors, metadata: ["k": "v \"quoted\"\n"]))
    // No temporary file is left beside the output.
    #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["round.safetensors"])
  }

  @Test func eightBitFloatsAreRawBytesOnly() throws {
    let folder = try TemporaryFolder()
    let header = #"{"q":{"dtype":"F8_E4M3","shape":[2,2],"data_offsets":[0,4]}}"#
    let path = try folder.write("f8.safetensors", rawSafeTensors(header, data: 4))
    let file = try SafeTensorsFile(path: path)
    #expect(try file.rawBytes(of: "q") == [0, 0, 0, 0])
    let error = #expect(throws: ModelGraphError.self) { try file.tensor(named: "q") }
    #expect(error?.description.contains("F8_E4M3") == true)
  }

  @Test func readsTheMiniLMWeightsLazily() throws {
    let path = "../shared/models/all-MiniLM-L6-v2/model.safetensors"
    try #require(FileManager.default.fileExists(atPath: path))
    let file = try SafeTensorsFile(path: path)
    let weight = try file.tensor(named: "encoder.layer.0.attention.self.query.weight")
    #expect(weight.shape == [384, 384] && weight.dtype == .float32)
    #expect(file.names.count > 100)
    #expect(weight.floats.allSatisfy { $0.isFinite } && weight.floats.contains { $0 != 0 })
  }

  // MARK: Bad input, table-driven

  struct BadCase: Sendable, CustomStringConvertible {
    var label: String
    var bytes: [UInt8]
    /// A tensor to ask for after opening (nil: the open itself must fail).
    var request: String? = nil
    /// Fragments the error text must contain (the file path is always checked).
    var mentions: [String]
    var description: String { label }
  }

  static let badCases: [BadCase] = [
    BadCase(label: "empty file", bytes: [], mentions: ["0 bytes"]),
    BadCase(label: "truncated header length", bytes: [1, 0, 0], mentions: ["header length"]),
    BadCase(
      label: "header length beyond file", bytes: leBytes([UInt64(500)]) + Array("{}".utf8),
      mentions: ["header length", "500"]),
    BadCase(
      label: "truncated header", bytes: Array(rawSafeTensors(#"{"a":{"dtype":"F32""#, data: 0)),
      mentions: ["JSON"]),
    BadCase(label: "invalid JSON", bytes: rawSafeTensors(#"{"a": nope}"#, data: 0), mentions: ["JSON"]),
    BadCase(label: "not an object", bytes: rawSafeTensors("[1, 2]", data: 0), mentions: ["'{'"]),
    BadCase(
      label: "offsets beyond buffer",
      bytes: rawSafeTensors(#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: 8),
      mentions: ["'w'", "[0, 16]", "≤ 8"]),
    BadCase(
      label: "begin after end",
      bytes: rawSafeTensors(#"{"w":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}}"#, data: 8),
      mentions: ["'w'", "[4, 0]"]),
    BadCase(
      label: "overlapping tensors",
      bytes: rawSafeTensors(
        #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"#
          + #""data_offsets":[4,12]}}"#, data: 16),
      mentions: ["'a'", "'b'", "overlap"]),
    BadCase(
      label: "size mismatch",
      bytes: rawSafeTensors(#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: 8),
      mentions: ["'w'", "12 bytes", "8 bytes"]),
    BadCase(
      label: "unknown dtype",
      bytes: rawSafeTensors(#"{"w":{"dtype":"F31","shape":[1],"data_offsets":[0,4]}}"#, data: 4),
      mentions: ["'w'", "F31", "BF16"]),
    BadCase(
      label: "negative dim",
      bytes: rawSafeTensors(#"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: 4),
      mentions: ["'w'", "non-negative", "-1"]),
    BadCase(
      label: "duplicate name",
      bytes: rawSafeTensors(
        #"{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"U8","shape":[1],"#
          + #""data_offsets":[1,2]}}"#, data: 2),
      mentions: ["'w'", "unique"]),
    BadCase(
      label: "missing data_offsets",
      bytes: rawSafeTensors(#"{"w":{"dtype":"U8","shape":[1]}}"#, data: 1),
      mentions: ["'w'", "data_offsets"]),
    BadCase(
      label: "metadata not strings",
      bytes: rawSafeTensors(#"{"__metadata__":{"n":3}}"#, data: 0), mentions: ["__metadata__", "3"]),
    BadCase(
      label: "missing tensor requested by name",
      bytes: rawSafeTensors(#"{"layer.weight":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#, data: 1),
      request: "weight", mentions: ["'weight'", "layer.weight"]),
  ]

  @Test(arguments: badCases) func badInputThrowsANamedError(_ bad: BadCase) throws {
    let folder = try TemporaryFolder()
    let path = try folder.write("bad.safetensors", bad.bytes)
    let error = #expect(throws: ModelGraphError.self, "\(bad.label)") {
      let file = try SafeTensorsFile(path: path)
      if let name = bad.request { _ = try file.tensor(named: name) }
    }
    let text = error?.description ?? ""
    #expect(text.contains(path), "\(bad.label): \(text)")
    for fragment in bad.mentions {
      #expect(text.contains(fragment), "\(bad.label): '\(fragment)' not in: \(text)")
    }
  }

  @Test func missingFileIsNamed() {
    #expect(throws: ModelGraphError.fileNotFound(path: "/nonexistent/x.safetensors")) {
      try SafeTensorsFile(path: "/nonexistent/x.safetensors")
    }
  }
}
