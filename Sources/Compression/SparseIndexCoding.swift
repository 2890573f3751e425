/// How the positions of a layer's stored entries are coded. On-disk codes: append-only.
public enum IndexCoding: UInt8, Sendable, CaseIterable, CustomStringConvertible {
  /// Relative gaps in a fixed number of bits with fillers (Deep Compression §2, Fig. 2).
  case relativeGaps = 1
  /// Compressed sparse rows over [shape[0], rest]: entries per row, then column indices.
  case csr = 2

  public var description: String { self == .csr ? "csr" : "gaps" }
}

/// Bits needed to write every integer in 0...maxValue (at least 1).
public func bitsNeeded(_ maxValue: Int) -> Int {
  max(1, Int.bitWidth - maxValue.leadingZeroBitCount)
}

/// Relative index coding with fillers. With b bits, the escape symbol F = 2^b − 1 means "F positions
/// with no stored entry" (a filler); any other symbol s means "s positions with no entry, then one
/// entry". A run of z zeros before an entry becomes ⌊z/F⌋ fillers and then z mod F.
///
/// The paper (Fig. 2, 3-bit example) pads with a filler *zero*: an entry of value 0 that also takes a
/// value index. Our filler is a pure escape in the gap stream and stores no value, so it is never
/// larger than the paper's scheme.
public enum RelativeGapCoding {
  public static func encode(positions: [Int], bits: Int) -> [UInt32] {
    precondition(bits >= 1 && bits <= 16, "RelativeGapCoding: bits \(bits) not in 1...16")
    let filler = (1 << bits) - 1
    var symbols = [UInt32]()
    symbols.reserveCapacity(positions.count)
    var next = 0
    for p in positions {
      precondition(p >= next, "RelativeGapCoding: positions not strictly ascending at \(p)")
      var zeros = p - next
      while zeros >= filler {
        symbols.append(UInt32(filler))
        zeros -= filler
      }
      symbols.append(UInt32(zeros))
      next = p + 1
    }
    return symbols
  }

  /// Positions from gap symbols; nil when they run past `count` elements or the filler count is off.
  public static func decode(_ symbols: [UInt32], bits: Int, count: Int) -> [Int]? {
    let filler = UInt32((1 << bits) - 1)
    var positions = [Int]()
    var next = 0
    for s in symbols {
      if s == filler {
        next += Int(filler)
      } else {
        next += Int(s)
        guard next < count else { return nil }
        positions.append(next)
        next += 1
      }
    }
    return next <= count ? positions : nil
  }
}

/// Sparse positions as CSR over rows = shape[0], columns = count / rows.
public enum CSRCoding {
  /// Entries per row (the differences of the CSR row pointer) and column indices.
  public static func encode(positions: [Int], rows: Int, columns: Int) -> (
    rowCounts: [UInt32], cols: [UInt32]
  ) {
    var counts = [UInt32](repeating: 0, count: rows)
    var cols = [UInt32]()
    cols.reserveCapacity(positions.count)
    for p in positions {
      counts[p / columns] += 1
      cols.append(UInt32(p % columns))
    }
    return (counts, cols)
  }

  /// Positions; nil when counts or columns are inconsistent (not ascending within a row, out of range).
  public static func decode(rowCounts: [UInt32], cols: [UInt32], columns: Int) -> [Int]? {
    guard rowCounts.reduce(0, { $0 + Int($1) }) == cols.count else { return nil }
    var positions = [Int]()
    positions.reserveCapacity(cols.count)
    var k = 0
    for (row, n) in rowCounts.enumerated() {
      var previous = -1
      for _ in 0..<Int(n) {
        let c = Int(cols[k])
        guard c > previous, c < columns else { return nil }
        positions.append(row * columns + c)
        previous = c
        k += 1
      }
    }
    return positions
  }
}

/// Encodes positions with both codings and keeps the smaller blob:
///
///     coding u8 | gaps: bits u8, stream | csr: stream(row counts), stream(columns)
public enum SparseIndexBlob {
  public static func encode(
    positions: [Int], shape: [Int], gapBits: Int, entropyCoding: Bool
  ) -> [UInt8] {
    var gaps = ByteWriter()
    gaps.u8(IndexCoding.relativeGaps.rawValue)
    gaps.u8(UInt8(gapBits))
    gaps.raw(
      SymbolStream.encode(
        RelativeGapCoding.encode(positions: positions, bits: gapBits), width: gapBits,
        entropyCoding: entropyCoding))
    let count = shape.reduce(1, *)
    let rows = max(shape.first ?? 1, 1)
    let columns = max(count / rows, 1)
    guard shape.count >= 2, count > 0 else { return gaps.bytes }
    let (rowCounts, cols) = CSRCoding.encode(positions: positions, rows: rows, columns: columns)
    var csr = ByteWriter()
    csr.u8(IndexCoding.csr.rawValue)
    csr.raw(SymbolStream.encode(rowCounts, width: bitsNeeded(columns), entropyCoding: entropyCoding))
    csr.raw(SymbolStream.encode(cols, width: bitsNeeded(columns - 1), entropyCoding: entropyCoding))
    return csr.count < gaps.count ? csr.bytes : gaps.bytes
  }

  public static func coding(of blob: [UInt8]) -> IndexCoding? {
    blob.first.flatMap(IndexCoding.init(rawValue:))
  }

  /// Decodes `entries` positions of a tensor of `shape`; the reader must cover exactly the blob.
  public static func decode(_ r: inout ByteReader, shape: [Int], entries: Int) throws -> [Int] {
    let at = r.fileOffset
    let code = try r.u8()
    guard let coding = IndexCoding(rawValue: code) else {
      throw CompressionError.unknownCode(
        section: r.section, offset: at, kind: "index coding", code: Int(code))
    }
    let count = shape.reduce(1, *)
    let positions: [Int]?
    switch coding {
    case .relativeGaps:
      let bits = Int(try r.u8())
      guard bits >= 1 && bits <= 16 else { throw r.corrupt(expected: "gap bits in 1...16", found: "\(bits)") }
      let symbols = try SymbolStream.decode(&r, alphabetLimit: 1 << bits, maxCount: count + entries)
      positions = RelativeGapCoding.decode(symbols, bits: bits, count: count)
    case .csr:
      let rows = max(shape.first ?? 1, 1)
      let columns = max(count / rows, 1)
      guard shape.count >= 2 else { throw r.corrupt(expected: "CSR on a rank ≥ 2 tensor", found: "\(shape)") }
      let rowCounts = try SymbolStream.decode(&r, alphabetLimit: columns + 1, maxCount: rows)
      let cols = try SymbolStream.decode(&r, alphabetLimit: columns, maxCount: entries)
      guard rowCounts.count == rows else {
        throw r.corrupt(expected: "\(rows) CSR row counts", found: "\(rowCounts.count)")
      }
      positions = CSRCoding.decode(rowCounts: rowCounts, cols: cols, columns: columns)
    }
    guard let p = positions, p.count == entries else {
      throw CompressionError.corrupt(
        section: r.section, offset: at, expected: "\(entries) ascending positions below \(count)",
        found: positions.map { "\($0.count) positions" } ?? "positions out of range")
    }
    return p
  }
}
