import ArgumentParser
import Foundation
import PruneKit

/// Checks of numeric options and output paths, made in each command's `validate()` so that a bad
/// value stops the run before any work. Every message is built here, in one form:
/// `--sparsity -0.1: expected a number in [0, 1)`.
///
/// Numeric options are declared with `parsing: .unconditional`, so `--sparsity -0.1` reads -0.1 as
/// the value (and is refused here as out of range) instead of as an unknown option.
enum OptionCheck {
  /// Largest batch / symbolic size accepted (inputs beyond this are not a real run).
  static let maxSize = 1 << 20
  /// Largest number of epochs (a typo such as 2000000 would otherwise run for weeks).
  static let maxEpochs = 100_000

  static func int(_ value: Int, _ flag: String, in range: ClosedRange<Int>) throws {
    guard range.contains(value) else {
      throw ValidationError("\(flag) \(value): expected an integer in \(range.lowerBound)...\(range.upperBound)")
    }
  }

  static func int(_ value: Int?, _ flag: String, in range: ClosedRange<Int>) throws {
    if let value { try int(value, flag, in: range) }
  }

  /// `value` finite and in `range`; `openUpper` excludes the upper bound ("[0, 1)").
  static func number(_ value: Double, _ flag: String, in range: ClosedRange<Double>, openUpper: Bool = false)
    throws
  {
    let inRange = value.isFinite && range.contains(value) && !(openUpper && value == range.upperBound)
    guard inRange else {
      let text = "[\(format(range.lowerBound)), \(format(range.upperBound))\(openUpper ? ")" : "]")"
      throw ValidationError("\(flag) \(value): expected a finite number in \(text)")
    }
  }

  static func number(_ value: Float?, _ flag: String, in range: ClosedRange<Double>, openUpper: Bool = false)
    throws
  {
    if let value { try number(Double(value), flag, in: range, openUpper: openUpper) }
  }

  static func number(_ value: Double?, _ flag: String, in range: ClosedRange<Double>, openUpper: Bool = false)
    throws
  {
    if let value { try number(value, flag, in: range, openUpper: openUpper) }
  }

  /// A learning rate: finite and > 0 (at most 1e3: larger diverges at the first step).
  static func learningRate(_ value: Float?, _ flag: String) throws {
    guard let value else { return }
    guard value.isFinite, value > 0, value <= 1e3 else {
      throw ValidationError("\(flag) \(value): expected a finite learning rate in (0, 1000]")
    }
  }

  /// The output `path` (option `flag`): its folder exists and is writable, it is not a device,
  /// FIFO, socket or folder, and not one of `inputs`; when `extensions` is given, its extension is
  /// one of them. Checked before long work starts (the write itself checks again).
  static func output(
    _ path: String, _ flag: String = "-o", inputs: [String] = [], extensions: [String]? = nil, hint: String = ""
  ) throws {
    if let reason = OutputPath.problem(path, inputs: inputs) {
      throw ValidationError("\(flag) \(path): cannot write (\(reason))")
    }
    if let extensions {
      let ext = (path as NSString).pathExtension.lowercased()
      guard extensions.contains(ext) else {
        let list = extensions.map { ".\($0)" }.joined(separator: " or ")
        throw ValidationError("\(flag) \(path): expected a \(list) file name, found '.\(ext)'\(hint)")
      }
    }
  }

  /// At most one of `given` (flag → given on the command line).
  static func exclusive(_ given: [String: Bool]) throws {
    let set = given.filter(\.value).keys.sorted()
    if set.count > 1 {
      throw ValidationError("\(set.joined(separator: " and ")): give at most one; they conflict")
    }
  }

  /// None of `given` may be set: `because` says what the chosen mode does instead.
  static func inapplicable(_ given: [String: Bool], because: String) throws {
    let set = given.filter(\.value).keys.sorted()
    if !set.isEmpty {
      throw ValidationError("\(set.joined(separator: ", ")): not applicable here; \(because)")
    }
  }

  private static func format(_ x: Double) -> String {
    x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x)
  }
}
