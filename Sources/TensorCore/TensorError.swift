/// Errors thrown by TensorCore. Each says what was expected and what was found.
public enum TensorError: Error, CustomStringConvertible, Equatable {
  case shapeMismatch(operation: String, expected: String, found: String)
  case dtypeMismatch(operation: String, expected: DType, found: DType)
  case invalidArgument(operation: String, message: String)
  case elementCount(shape: [Int], expected: Int, found: Int)

  public var description: String {
    switch self {
    case .shapeMismatch(let op, let expected, let found):
      return "\(op): expected shape \(expected), found \(found)"
    case .dtypeMismatch(let op, let expected, let found):
      return "\(op): expected dtype \(expected.rawValue), found \(found.rawValue)"
    case .invalidArgument(let op, let message):
      return "\(op): \(message)"
    case .elementCount(let shape, let expected, let found):
      return "shape \(shape) needs \(expected) elements, found \(found)"
    }
  }
}
