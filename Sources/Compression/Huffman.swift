/// Huffman coding (Huffman 1952) with canonical codes (RFC 1951 §3.2.2): only the code length of
/// each symbol is stored; codes are assigned in order of (length, symbol). Lengths are limited to
/// `Huffman.maxCodeLength` bits so that a decoder's tables stay small.
///
/// The tree is built by the two-queue method (van Leeuwen 1976): leaves sorted by frequency, merged
/// nodes appended to a second queue that is sorted by construction, so no heap is needed.
public enum Huffman {
  /// Longest code this implementation writes or accepts.
  public static let maxCodeLength = 24

  /// Code length per symbol for `frequencies` (0 for an unused symbol). A single used symbol gets
  /// length 1. Lengths never exceed `limit`; when the optimal tree is deeper, lengths are adjusted
  /// until Kraft's inequality holds (the heuristic of zlib/JPEG Annex K.3, then slack is given back
  /// to the most frequent symbols).
  public static func codeLengths(frequencies: [Int], limit: Int = maxCodeLength) -> [Int] {
    precondition(limit >= 1 && limit <= maxCodeLength, "Huffman.codeLengths: limit \(limit)")
    var lengths = [Int](repeating: 0, count: frequencies.count)
    let used = frequencies.indices.filter { frequencies[$0] > 0 }
      .sorted { (frequencies[$0], $0) < (frequencies[$1], $1) }
    precondition(used.count <= 1 << limit, "Huffman: \(used.count) symbols do not fit in \(limit)-bit codes")
    if used.isEmpty { return lengths }
    if used.count == 1 {
      lengths[used[0]] = 1
      return lengths
    }
    // Nodes 0..<n are leaves (in `used` order); n... are merged nodes in creation order.
    let n = used.count
    var weight = used.map { frequencies[$0] }
    var parent = [Int](repeating: -1, count: 2 * n - 1)
    var leafHead = 0
    var nodeHead = n
    func popSmallest() -> Int {
      if leafHead < n && (nodeHead >= weight.count || weight[leafHead] <= weight[nodeHead]) {
        leafHead += 1
        return leafHead - 1
      }
      nodeHead += 1
      return nodeHead - 1
    }
    for _ in 0..<(n - 1) {
      let a = popSmallest()
      let b = popSmallest()
      parent[a] = weight.count
      parent[b] = weight.count
      weight.append(weight[a] + weight[b])
    }
    // Depths top-down: a parent is always created after its children.
    var depth = [Int](repeating: 0, count: 2 * n - 1)
    for node in stride(from: 2 * n - 3, through: 0, by: -1) { depth[node] = depth[parent[node]] + 1 }
    for (leaf, symbol) in used.enumerated() { lengths[symbol] = depth[leaf] }
    if lengths.max()! > limit { limitLengths(&lengths, used: used, frequencies: frequencies, limit: limit) }
    return lengths
  }

  /// Clamps lengths to `limit` and restores Kraft's inequality Σ 2^-len ≤ 1.
  /// `used` is sorted by ascending frequency.
  static func limitLengths(_ lengths: inout [Int], used: [Int], frequencies: [Int], limit: Int) {
    for s in used where lengths[s] > limit { lengths[s] = limit }
    // Kraft sum in units of 2^-limit.
    var kraft = used.reduce(0) { $0 + (1 << (limit - lengths[$1])) }
    let budget = 1 << limit
    while kraft > budget {
      // Lengthen the least frequent symbol among those with the longest length below the limit.
      var best = -1
      for s in used where lengths[s] < limit && (best < 0 || lengths[s] > lengths[best]) { best = s }
      precondition(best >= 0, "Huffman.limitLengths: cannot satisfy Kraft with limit \(limit)")
      kraft -= 1 << (limit - lengths[best] - 1)
      lengths[best] += 1
    }
    // Give slack back: shorten the most frequent symbols while the code stays prefix-free.
    var changed = true
    while changed {
      changed = false
      for s in used.reversed() where lengths[s] > 1 && kraft + (1 << (limit - lengths[s])) <= budget {
        kraft += 1 << (limit - lengths[s])
        lengths[s] -= 1
        changed = true
      }
    }
  }

  /// Canonical codes for `lengths` (RFC 1951 §3.2.2): codes of one length are consecutive integers,
  /// in symbol order, and shorter codes come first. Unused symbols (length 0) get code 0.
  public static func canonicalCodes(lengths: [Int]) -> [UInt32] {
    let maxLength = lengths.max() ?? 0
    var countPerLength = [Int](repeating: 0, count: maxLength + 1)
    for l in lengths where l > 0 { countPerLength[l] += 1 }
    var next = [UInt32](repeating: 0, count: maxLength + 2)
    var code: UInt32 = 0
    if maxLength >= 1 {
      for bits in 1...maxLength {
        code = (code + UInt32(countPerLength[bits - 1])) << 1  // countPerLength[0] = 0
        next[bits] = code
      }
    }
    var codes = [UInt32](repeating: 0, count: lengths.count)
    for (symbol, l) in lengths.enumerated() where l > 0 {
      codes[symbol] = next[l]
      next[l] += 1
    }
    return codes
  }

  /// Total payload bits of coding `frequencies` with `lengths`.
  public static func payloadBits(frequencies: [Int], lengths: [Int]) -> Int {
    zip(frequencies, lengths).reduce(0) { $0 + $1.0 * $1.1 }
  }

  /// Appends the codes of `symbols` to `writer`. Every symbol must have a non-zero length.
  public static func encode(_ symbols: [UInt32], lengths: [Int], into writer: inout BitWriter) {
    let codes = canonicalCodes(lengths: lengths)
    for s in symbols {
      let l = lengths[Int(s)]
      precondition(l > 0, "Huffman.encode: symbol \(s) has no code")
      writer.write(codes[Int(s)], width: l)
    }
  }
}
