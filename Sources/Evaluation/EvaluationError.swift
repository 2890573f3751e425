/// Errors of the Evaluation module.
public enum EvaluationError: Error, CustomStringConvertible, Equatable {
  case lengthMismatch(what: String, expected: Int, found: Int)
  case classOutOfRange(index: Int, value: Int, classCount: Int)
  case shape(what: String, expected: String, found: String)
  case invalidArgument(String)

  public var description: String {
    switch self {
    case .lengthMismatch(let what, let expected, let found):
      return "\(what): expected \(expected) entries, found \(found)"
    case .classOutOfRange(let index, let value, let classCount):
      return "sample \(index): class \(value) is outside 0..<\(classCount)"
    case .shape(let what, let expected, let found):
      return "\(what): expected shape \(expected), found \(found)"
    case .invalidArgument(let message):
      return message
    }
  }
}
