import TensorCore

/// The safetensors dtype codes (spec: huggingface/safetensors `Dtype`), one table for reading and
/// writing. `dtype == nil` marks a code PruneKit knows but has no `DType` for (the 8-bit floats):
/// such tensors can be read as raw bytes (`SafeTensorsFile.rawBytes(of:)`) but not as a `Tensor`.
public struct SafeTensorsDTypeCode: Sendable, Equatable {
  public var code: String
  public var dtype: DType?
  public var byteWidth: Int
  /// Position in the reference implementation's `Dtype` enum; its writer orders tensors by this
  /// (descending), then by name, so that every tensor starts aligned to its element size.
  public var rank: Int

  public static let table: [SafeTensorsDTypeCode] = [
    .init(code: "BOOL", dtype: .bool, byteWidth: 1, rank: 0),
    .init(code: "U8", dtype: .uint8, byteWidth: 1, rank: 4),
    .init(code: "I8", dtype: .int8, byteWidth: 1, rank: 5),
    .init(code: "F8_E5M2", dtype: nil, byteWidth: 1, rank: 6),
    .init(code: "F8_E4M3", dtype: nil, byteWidth: 1, rank: 7),
    .init(code: "F8_E8M0", dtype: nil, byteWidth: 1, rank: 8),
    .init(code: "I16", dtype: .int16, byteWidth: 2, rank: 9),
    .init(code: "U16", dtype: .uint16, byteWidth: 2, rank: 10),
    .init(code: "F16", dtype: .float16, byteWidth: 2, rank: 11),
    .init(code: "BF16", dtype: .bfloat16, byteWidth: 2, rank: 12),
    .init(code: "I32", dtype: .int32, byteWidth: 4, rank: 13),
    .init(code: "U32", dtype: .uint32, byteWidth: 4, rank: 14),
    .init(code: "F32", dtype: .float32, byteWidth: 4, rank: 15),
    .init(code: "F64", dtype: .float64, byteWidth: 8, rank: 17),
    .init(code: "I64", dtype: .int64, byteWidth: 8, rank: 18),
    .init(code: "U64", dtype: .uint64, byteWidth: 8, rank: 19),
  ]

  /// The entry for a header's `dtype` string, nil if unknown.
  public static func lookup(code: String) -> SafeTensorsDTypeCode? {
    table.first { $0.code == code }
  }

  /// The entry for a PruneKit dtype (every `DType` has one).
  public static func lookup(dtype: DType) -> SafeTensorsDTypeCode {
    guard let entry = table.first(where: { $0.dtype == dtype }) else {
      preconditionFailure("SafeTensorsDTypeCode: no safetensors code for \(dtype)")
    }
    return entry
  }

  /// All codes, for error messages.
  static var knownCodes: String { table.map(\.code).joined(separator: ", ") }
}
