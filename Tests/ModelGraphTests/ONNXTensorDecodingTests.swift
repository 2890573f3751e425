import Foundation
import TensorCore
import Testing

@testable import ModelGraph

/// TensorProto typed fields (onnx.proto: float_data, int32_data, int64_data, double_data, uint64_data).
@Suite struct ONNXTensorDecodingTests {
  let decoder = ONNXTensorDecoder(file: "t.onnx", baseDirectory: nil)

  func proto(_ type: Int32, dims: [Int64], _ fill: (inout Onnx_TensorProto) -> Void) -> Onnx_TensorProto {
    var proto = Onnx_TensorProto()
    proto.name = "t"
    proto.dims = dims
    proto.dataType = type
    fill(&proto)
    return proto
  }

  @Test func float16AndBFloat16ComeAsBitPatternsInInt32Data() throws {
    let halves: [Float16] = [1, -2.5, 65504]
    let f16 = try decoder.decode(
      proto(10, dims: [3]) { $0.int32Data = halves.map { Int32($0.bitPattern) } }, what: "t")
    #expect(f16.dtype == .float16)
    #expect(f16.asFloats() == [1, -2.5, 65504])
    let bf16 = try decoder.decode(
      proto(16, dims: [2]) {
        $0.int32Data = [Int32(Tensor.bfloat16Bits(3)), Int32(Tensor.bfloat16Bits(-0.5))]
      },
      what: "t")
    #expect(bf16.dtype == .bfloat16)
    #expect(bf16.asFloats() == [3, -0.5])
  }

  @Test func integerTypesFromInt32Data() throws {
    let cases: [(Int32, DType, [Int32])] = [
      (3, .int8, [-128, 5, 127]), (2, .uint8, [0, 200, 255]), (5, .int16, [-300, 0, 300]),
      (4, .uint16, [0, 40000, 7]), (6, .int32, [-70000, 1, 70000]), (9, .bool, [1, 0, 1]),
    ]
    for (code, dtype, values) in cases {
      let tensor = try decoder.decode(proto(code, dims: [3]) { $0.int32Data = values }, what: "t")
      #expect(tensor.dtype == dtype)
      #expect(tensor.asInt64s() == values.map { Int64($0) }, "\(dtype)")
    }
  }

  @Test func wideTypesFromTheirFields() throws {
    let f32 = try decoder.decode(proto(1, dims: [2, 1]) { $0.floatData = [1.5, -2] }, what: "t")
    #expect(f32.shape == [2, 1] && f32.floats == [1.5, -2])
    let i64 = try decoder.decode(proto(7, dims: []) { $0.int64Data = [Int64.min] }, what: "t")
    #expect(i64.int64s == [Int64.min])
    let f64 = try decoder.decode(proto(11, dims: [2]) { $0.doubleData = [0.25, 1e300] }, what: "t")
    #expect(f64.asFloats() == [0.25, .infinity])
    let u32 = try decoder.decode(proto(12, dims: [2]) { $0.uint64Data = [0, 4_000_000_000] }, what: "t")
    #expect(u32.dtype == .uint32 && u32.asInt64s() == [0, 4_000_000_000])
    let u64 = try decoder.decode(proto(13, dims: [1]) { $0.uint64Data = [UInt64.max] }, what: "t")
    #expect(u64.rawBytes == [UInt8](repeating: 0xFF, count: 8))
    #expect(throws: ModelGraphError.self) {
      try decoder.decode(proto(12, dims: [1]) { $0.uint64Data = [UInt64(UInt32.max) + 1] }, what: "t")
    }
  }

  @Test func emptyTensorNeedsNoData() throws {
    let tensor = try decoder.decode(proto(1, dims: [0, 3]) { _ in }, what: "t")
    #expect(tensor.shape == [0, 3] && tensor.count == 0)
  }

  @Test func rawDataMatchesTypedFields() throws {
    var generator = SeededGenerator(seed: 1)
    let values = (0..<10).map { _ in Float.random(in: -1...1, using: &generator) }
    let typed = try decoder.decode(proto(1, dims: [10]) { $0.floatData = values }, what: "t")
    let raw = try decoder.decode(
      proto(1, dims: [10]) { $0.rawData = values.withUnsafeBytes { Data($0) } }, what: "t")
    #expect(typed == raw)
  }
}
