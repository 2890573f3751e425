import ModelGraph
import TensorCore

/// Errors of the Training module. Each names the file, node or parameter, and what was expected
/// against what was found; `description` adds a hint where the fix is obvious.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
  case fileNotFound(path: String, hint: String)
  case unreadable(path: String, offset: Int, reason: String)
  case malformed(file: String, offset: Int, expected: String, found: String)
  case dataNotFound(what: String, searched: [String], hint: String)
  case unsupportedOp(node: String, opType: String)
  case unsupportedAttribute(node: String, opType: String, attribute: String, value: String)
  case shapeMismatch(node: String, expected: String, found: String)
  case missingValue(node: String, name: String)
  case invalidArgument(what: String, message: String)
  /// The loss became NaN or infinite: training diverged (learning rate too high, or bad data).
  case nonFiniteLoss(step: Int, epoch: Int, loss: Float)
  /// The model cannot be run or differentiated (the executor's message, naming node and op type).
  case graph(String)

  public var description: String {
    switch self {
    case .fileNotFound(let path, let hint):
      return "\(path): no such file" + (hint.isEmpty ? "" : " (\(hint))")
    case .unreadable(let path, let offset, let reason):
      return "\(path): cannot read at byte \(offset): \(reason)"
    case .malformed(let file, let offset, let expected, let found):
      return "\(file): at byte \(offset): expected \(expected), found \(found)"
    case .dataNotFound(let what, let searched, let hint):
      return "\(what) not found; looked in: \(searched.joined(separator: ", ")). \(hint)"
    case .unsupportedOp(let node, let opType):
      return "node '\(node)': op \(opType) has no gradient in PruneKit's Training module"
    case .unsupportedAttribute(let node, let opType, let attribute, let value):
      return "node '\(node)' (\(opType)): attribute \(attribute)=\(value) is not supported for training"
    case .shapeMismatch(let node, let expected, let found):
      return "node '\(node)': expected shape \(expected), found \(found)"
    case .missingValue(let node, let name):
      return "node '\(node)': input '\(name)' is neither a graph input, an initializer nor a node output"
    case .invalidArgument(let what, let message):
      return "\(what): \(message)"
    case .graph(let message):
      return message
    case .nonFiniteLoss(let step, let epoch, let loss):
      return "training diverged: the loss is \(loss) at step \(step) (epoch \(epoch + 1)); nothing was saved. "
        + "Lower the learning rate, or check the data for NaN/infinite values"
    }
  }
}
