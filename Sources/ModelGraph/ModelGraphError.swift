/// Errors of model import, export and execution. Each names the file, tensor or node, and what
/// was expected against what was found.
public enum ModelGraphError: Error, CustomStringConvertible, Equatable {
  case fileNotFound(path: String)
  case unreadable(path: String, reason: String)
  case malformed(file: String, at: String, expected: String, found: String)
  case unsupportedOp(node: String, opType: String, domain: String, opset: Int)
  case unsupportedAttribute(node: String, opType: String, attribute: String, value: String)
  case missingValue(node: String, name: String)
  case missingInitializer(name: String)
  case shapeMismatch(node: String, expected: String, found: String)
  case dtypeMismatch(node: String, name: String, expected: String, found: String)
  case invalidModel(String)
  /// An output file could not be written (folder missing, disk full, permission); nothing was left
  /// at `path` by the failed write.
  case unwritable(path: String, reason: String)

  public var description: String {
    switch self {
    case .fileNotFound(let path):
      return "\(path): no such file"
    case .unreadable(let path, let reason):
      return "\(path): cannot read (\(reason))"
    case .malformed(let file, let at, let expected, let found):
      return "\(file): \(at): expected \(expected), found \(found)"
    case .unsupportedOp(let node, let opType, let domain, let opset):
      let dom = domain.isEmpty ? "ai.onnx" : domain
      return "node '\(node)': op \(opType) (domain \(dom), opset \(opset)) is not supported"
    case .unsupportedAttribute(let node, let opType, let attribute, let value):
      return "node '\(node)' (\(opType)): attribute \(attribute)=\(value) is not supported"
    case .missingValue(let node, let name):
      return "node '\(node)': input '\(name)' is neither a graph input, an initializer nor a node output"
    case .missingInitializer(let name):
      return "initializer '\(name)' is missing"
    case .shapeMismatch(let node, let expected, let found):
      return "node '\(node)': expected shape \(expected), found \(found)"
    case .dtypeMismatch(let node, let name, let expected, let found):
      return "node '\(node)': '\(name)' expected dtype \(expected), found \(found)"
    case .invalidModel(let message):
      return message
    case .unwritable(let path, let reason):
      return "\(path): cannot write (\(reason))"
    }
  }
}
