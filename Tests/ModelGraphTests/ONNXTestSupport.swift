import Foundation
import TensorCore

@testable import ModelGraph

/// Paths and reference data shared by the ONNX tests.
enum ONNXTestSupport {
  /// The package root (three levels above this file).
  static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().path

  static func path(_ relative: String) -> String {
    (packageRoot as NSString).appendingPathComponent(relative)
  }

  /// A fresh empty folder under the temporary directory.
  static func temporaryFolder() throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(
      "prunekit-onnx-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url.path
  }

  /// A dimension as written by scripts/onnx_reference_counts.py: an Int or a symbolic name.
  enum RefDim: Decodable, Equatable {
    case fixed(Int), symbolic(String)
    init(from decoder: Decoder) throws {
      let container = try decoder.singleValueContainer()
      if let n = try? container.decode(Int.self) {
        self = .fixed(n)
      } else {
        self = .symbolic(try container.decode(String.self))
      }
    }
    var dim: Dim {
      switch self {
      case .fixed(let n): return .fixed(n)
      case .symbolic(let s): return .symbolic(s)
      }
    }
  }

  struct RefValue: Decodable { var name: String; var dims: [RefDim] }
  struct RefInitializer: Decodable { var dims: [Int]; var data_type: Int32 }

  /// One model's entry in Tests/Data/onnx_reference.json (read with the `onnx` Python package).
  struct Reference: Decodable {
    var path: String
    var opset: Int
    var op_counts: [String: Int]
    var constant_nodes: Int
    var initializers: [String: RefInitializer]
    var constant_shapes: [String: [Int]]
    var inputs: [RefValue]
    var outputs: [RefValue]
    var parameter_count: Int
  }

  static func references() throws -> [String: Reference] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path("Tests/Data/onnx_reference.json")))
    return try JSONDecoder().decode([String: Reference].self, from: data)
  }

  /// Graph equality up to what an export → import cycle legitimately changes (ONNX metadata).
  static func normalised(_ graph: Graph) -> Graph {
    var copy = graph
    copy.metadata = copy.metadata.filter { !$0.key.hasPrefix("onnx.") || $0.key.hasPrefix("onnx.opset.") }
    return copy
  }
}
