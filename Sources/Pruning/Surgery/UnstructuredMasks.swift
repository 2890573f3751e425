import ModelGraph
import TensorCore

/// Masks that zero individual weights (or N:M runs, or blocks) without changing any shape.
///
/// Selection rule (what the tests check against brute force): within the scope, the `k` elements with
/// the lowest (score, index) pairs are pruned, k = round(sparsity × count); in global scope the index is
/// the position in the concatenation of the parameters in `parameters` order. Elements already masked
/// in `graph.masks` are pruned first (masks only shrink), unless `keepExistingMasks` is false.
public struct MaskBuilder {
  public var criterion: any ImportanceCriterion
  public var scope: PruningScope
  public var pattern: SparsityPattern
  public var keepExistingMasks: Bool

  public init(
    criterion: any ImportanceCriterion, scope: PruningScope = .layer,
    pattern: SparsityPattern = .unstructured, keepExistingMasks: Bool = true
  ) {
    self.criterion = criterion
    self.scope = scope
    self.pattern = pattern
    self.keepExistingMasks = keepExistingMasks
  }

  /// Masks (1 = keep) for `parameters` of `graph` at `sparsity` (ignored for N:M, which fixes it).
  public func masks(for graph: Graph, parameters: [String], sparsity: Double) throws -> [String: Tensor] {
    guard sparsity >= 0, sparsity <= 1 else {
      throw PruningError.invalidArgument(what: "sparsity", expected: "in [0, 1]", found: "\(sparsity)")
    }
    var scores: [(String, Tensor)] = []
    for name in parameters {
      var s = try criterion.scores(for: name, in: graph)
      if keepExistingMasks, let old = graph.masks[name], old.shape == s.shape {
        var v = s.floats
        let m = old.floats
        for i in 0..<v.count where m[i] == 0 { v[i] = -.infinity }
        s.floats = v
      }
      scores.append((name, s))
    }
    switch pattern {
    case .unstructured:
      return try selectLowest(scores, sparsity: sparsity)
    case .nOfM(let n, let m):
      var result: [String: Tensor] = [:]
      for (name, s) in scores {
        let axis = inputAxis(of: name, rank: s.rank, in: graph)
        result[name] = try nOfMMask(scores: s, n: n, m: m, axis: axis, name: name)
      }
      return result
    case .block(let rows, let cols):
      var blocks: [(String, Tensor)] = []
      var geometry: [String: (r: Int, c: Int, shape: [Int])] = [:]
      for (name, s) in scores {
        let (b, r, c) = try blockScores(s, rows: rows, cols: cols, name: name)
        blocks.append((name, b))
        geometry[name] = (r, c, s.shape)
      }
      var result: [String: Tensor] = [:]
      for (name, bm) in try selectLowest(blocks, sparsity: sparsity) {
        let g = geometry[name]!
        result[name] = expandBlockMask(bm, rows: rows, cols: cols, r: g.r, c: g.c, shape: g.shape)
      }
      return result
    }
  }

  /// Prunes the round(sparsity × count) lowest (score, index) elements per tensor or over all of them.
  func selectLowest(_ scores: [(String, Tensor)], sparsity: Double) throws -> [String: Tensor] {
    switch scope {
    case .layer:
      var result: [String: Tensor] = [:]
      for (name, s) in scores { result[name] = lowestMask([s], sparsity: sparsity)[0] }
      return result
    case .global:
      let masks = lowestMask(scores.map(\.1), sparsity: sparsity)
      return Dictionary(uniqueKeysWithValues: zip(scores.map(\.0), masks))
    }
  }
}

/// Masks over the concatenation of `tensors`: the k = round(sparsity × total) lowest (score, index)
/// elements get 0. O(total log total).
func lowestMask(_ tensors: [Tensor], sparsity: Double) -> [Tensor] {
  var flat: [Float] = []
  flat.reserveCapacity(tensors.reduce(0) { $0 + $1.count })
  for t in tensors { flat.append(contentsOf: t.floats) }
  let k = min(flat.count, Int((sparsity * Double(flat.count)).rounded()))
  var keep = [Float](repeating: 1, count: flat.count)
  if k > 0 {
    var order = Array(0..<flat.count)
    order.sort { flat[$0] != flat[$1] ? flat[$0] < flat[$1] : $0 < $1 }
    for i in order.prefix(k) { keep[i] = 0 }
  }
  var result: [Tensor] = []
  var offset = 0
  for t in tensors {
    result.append(Tensor(shape: t.shape, floats: Array(keep[offset..<offset + t.count])))
    offset += t.count
  }
  return result
}
