import Foundation

/// What went wrong with a sweep, naming the file, cell or option and what was expected.
public enum SweepError: Error, CustomStringConvertible, Equatable {
  /// The grid itself is wrong (an unknown method, a sparsity out of range, an empty list).
  case invalidSpec(what: String, expected: String, found: String)
  /// A cell index outside the grid.
  case cellOutOfRange(cell: Int, cellCount: Int)
  /// DIR already holds a different sweep (its sweep.json has another hash).
  case specMismatch(path: String, storedHash: String, newHash: String, differences: [String])
  /// sweep.json (or a cells/ folder without one) that cannot be read as a sweep.
  case unreadable(path: String, reason: String)
  /// `collect` was asked for a grid that is not complete.
  case incomplete(directory: String, notDone: [Int], cellCount: Int)

  public var description: String {
    switch self {
    case .invalidSpec(let what, let expected, let found):
      return "\(what): expected \(expected), found \(found)"
    case .cellOutOfRange(let cell, let count):
      return "--cell \(cell): this sweep has cells 0...\(count - 1)"
    case .specMismatch(let path, let stored, let new, let differences):
      let list = differences.prefix(4).joined(separator: "; ")
      return "\(path) holds another sweep (spec hash \(stored.prefix(12)), this one \(new.prefix(12)): "
        + "\(list)); use another -o folder, or rerun without grid options to resume the stored one"
    case .unreadable(let path, let reason):
      return "\(path): \(reason)"
    case .incomplete(let directory, let notDone, let count):
      return "\(directory): \(notDone.count) of \(count) cells are not done (\(SweepStatus.arrayList(notDone))); "
        + "run 'prunekit sweep status \(directory)' to see why, or give --allow-missing"
    }
  }
}
