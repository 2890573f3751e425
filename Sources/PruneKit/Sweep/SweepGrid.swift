import Foundation
import Pruning

/// One grid point of a sweep: what a cell prunes with.
public struct SweepPoint: Sendable, Equatable, Codable, CustomStringConvertible {
  public var method: String
  /// "unstructured", "2:4", "4x4".
  public var pattern: String
  /// The target sparsity (for N:M, 1 − N/M).
  public var sparsity: Double

  public init(method: String, pattern: String, sparsity: Double) {
    self.method = method
    self.pattern = pattern
    self.sparsity = sparsity
  }

  public var description: String {
    let percent = String(format: "%g%%", (sparsity * 1000).rounded() / 10)
    return pattern == "unstructured" ? "\(method) \(percent)" : "\(method) \(pattern) \(percent)"
  }
}

/// Cell index ↔ grid point, a pure function of the spec (the same on every machine):
///
///     cell = methodIndex · variants.count + variantIndex
///
/// where `variants` lists, pattern by pattern in the spec's order, (pattern, sparsity) pairs:
/// every sparsity for unstructured and block patterns, one pair (1 − N/M) for an N:M pattern.
/// Example: methods [magnitude, random], sparsities [0.5, 0.9], patterns [unstructured, 2:4] give
/// 3 variants and 6 cells; cell 4 is (random, unstructured, 0.9).
extension SweepSpec {
  /// Unstructured and block patterns take each sparsity; N:M fixes its own.
  func takesSparsity(_ pattern: String) -> Bool {
    if case .nOfM? = SparsityPattern(argument: pattern) { return false }
    return true
  }

  /// (pattern, sparsity) in cell order within one method.
  public var variants: [(pattern: String, sparsity: Double)] {
    patterns.flatMap { pattern -> [(pattern: String, sparsity: Double)] in
      if case .nOfM(let n, let m)? = SparsityPattern(argument: pattern) {
        return [(pattern, 1 - Double(n) / Double(m))]
      }
      return sparsities.map { (pattern, $0) }
    }
  }

  public var cellCount: Int { methods.count * variants.count }

  /// The grid point of cell `index`.
  public func point(ofCell index: Int) throws -> SweepPoint {
    let variants = self.variants
    guard index >= 0, index < methods.count * variants.count else {
      throw SweepError.cellOutOfRange(cell: index, cellCount: methods.count * variants.count)
    }
    let v = variants[index % variants.count]
    return SweepPoint(method: methods[index / variants.count], pattern: v.pattern, sparsity: v.sparsity)
  }

  /// The cell of a grid point, nil when the point is not on the grid.
  public func cell(of point: SweepPoint) -> Int? {
    let variants = self.variants
    guard let m = methods.firstIndex(of: point.method),
      let v = variants.firstIndex(where: { $0.pattern == point.pattern && $0.sparsity == point.sparsity })
    else { return nil }
    return m * variants.count + v
  }
}
