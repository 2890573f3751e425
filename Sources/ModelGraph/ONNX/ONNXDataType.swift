import TensorCore

/// The ONNX `TensorProto.DataType` codes (onnx.proto, "DataType" enum) and how they map onto `DType`.
///
/// | code | ONNX name | DType | typed field when not raw_data |
/// |---|---|---|---|
/// | 1 | FLOAT | float32 | float_data |
/// | 2 | UINT8 | uint8 | int32_data |
/// | 3 | INT8 | int8 | int32_data |
/// | 4 | UINT16 | uint16 | int32_data |
/// | 5 | INT16 | int16 | int32_data |
/// | 6 | INT32 | int32 | int32_data |
/// | 7 | INT64 | int64 | int64_data |
/// | 9 | BOOL | bool | int32_data |
/// | 10 | FLOAT16 | float16 | int32_data (bit pattern in the low 16 bits) |
/// | 11 | DOUBLE | float64 | double_data |
/// | 12 | UINT32 | uint32 | uint64_data |
/// | 13 | UINT64 | uint64 | uint64_data |
/// | 16 | BFLOAT16 | bfloat16 | int32_data (bit pattern in the low 16 bits) |
///
/// STRING (8), COMPLEX64/128 (14, 15), the 8/6/4/2-bit formats (17–28) have no `DType`: importing them
/// is an error that names the tensor. On-disk codes are append-only in ONNX, so this table only grows.
enum ONNXDataType {
  /// Where the elements live in a TensorProto that has no raw_data.
  enum TypedField { case floatData, int32Data, int64Data, doubleData, uint64Data }

  private static let table: [(code: Int32, dtype: DType, field: TypedField)] = [
    (1, .float32, .floatData), (2, .uint8, .int32Data), (3, .int8, .int32Data),
    (4, .uint16, .int32Data), (5, .int16, .int32Data), (6, .int32, .int32Data),
    (7, .int64, .int64Data), (9, .bool, .int32Data), (10, .float16, .int32Data),
    (11, .float64, .doubleData), (12, .uint32, .uint64Data), (13, .uint64, .uint64Data),
    (16, .bfloat16, .int32Data),
  ]

  /// Names of every code ONNX defines, for error messages (index = code).
  private static let names: [String] = [
    "UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32", "INT64", "STRING", "BOOL",
    "FLOAT16", "DOUBLE", "UINT32", "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16", "FLOAT8E4M3FN",
    "FLOAT8E4M3FNUZ", "FLOAT8E5M2", "FLOAT8E5M2FNUZ", "UINT4", "INT4", "FLOAT4E2M1", "FLOAT8E8M0",
    "UINT2", "INT2", "FLOAT6E2M3", "FLOAT6E3M2",
  ]

  static func dtype(code: Int32) -> DType? { table.first { $0.code == code }?.dtype }

  static func code(of dtype: DType) -> Int32 {
    guard let entry = table.first(where: { $0.dtype == dtype }) else {
      preconditionFailure("ONNXDataType: DType \(dtype) has no ONNX code in the table")
    }
    return entry.code
  }

  static func typedField(of dtype: DType) -> TypedField {
    table.first { $0.dtype == dtype }!.field
  }

  /// "FLOAT (1)", "STRING (8)", or "unknown code 99".
  static func describe(code: Int32) -> String {
    code >= 0 && Int(code) < names.count ? "\(names[Int(code)]) (\(code))" : "unknown code \(code)"
  }

  /// The types an importer accepts, for "expected …" messages.
  static var supportedList: String { table.map { names[Int($0.code)] }.joined(separator: "/") }
}
