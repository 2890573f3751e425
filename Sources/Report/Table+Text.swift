/// Plain-text rendering of a `ReportTable` for the terminal: the same cells as its Markdown and
/// HTML forms, columns padded to their widest cell (counted in characters), numbers right-aligned.
///
///     model        size   acc
///     dense.onnx  1.0 MB  98.1%
///     p90.pkz      40 kB  97.9%
extension ReportTable {
  /// The table as lines of text: an optional title line, the header, an optional rule of dashes,
  /// the rows, then the notes. `indent` is put before every line.
  public func text(rule: Bool = false, indent: String = "", gap: Int = 2) -> String {
    let widths = columns.indices.map { c in ([columns[c]] + rows.map { $0[c] }).map(\.count).max() ?? 0 }
    let alignRight = columns.indices.map { c in
      let cells = rows.map { $0[c] }.filter { !$0.isEmpty && $0 != "-" && $0 != "—" }
      return !cells.isEmpty && cells.allSatisfy(Self.looksNumeric)
    }
    func line(_ cells: [String]) -> String {
      var out = indent
      for (c, cell) in cells.enumerated() {
        let pad = String(repeating: " ", count: widths[c] - cell.count)
        let last = c == cells.count - 1
        out += alignRight[c] ? pad + cell : (last ? cell : cell + pad)
        if !last { out += String(repeating: " ", count: gap) }
      }
      return out
    }
    var lines: [String] = []
    if let title { lines.append(indent + title) }
    lines.append(line(columns))
    if rule { lines.append(indent + widths.map { String(repeating: "-", count: $0) }.joined(separator: String(repeating: " ", count: gap))) }
    lines += rows.map(line)
    lines += notes.map { indent + $0 }
    return lines.joined(separator: "\n") + "\n"
  }

  /// "12", "-3.5", "98.1%", "1.2 MB", "0.3 ms", "×2.4", "2.4x", "1.5e-3", "+0.2 pt": a number with an
  /// optional sign, prefix ×, and a short unit suffix.
  static func looksNumeric(_ cell: String) -> Bool {
    var s = Substring(cell.trimmingCharacters(in: .whitespaces))
    if s.hasPrefix("×") || s.hasPrefix("+") || s.hasPrefix("-") || s.hasPrefix("−") || s.hasPrefix("~") {
      s = s.dropFirst()
    }
    guard let first = s.first, first.isNumber else { return false }
    let numberEnd = s.firstIndex { !($0.isNumber || $0 == "." || $0 == "," || $0 == "e" || $0 == "E" || $0 == "-" || $0 == "+") } ?? s.endIndex
    let unit = s[numberEnd...].trimmingCharacters(in: .whitespaces)
    return unit.count <= 4 && !unit.contains(" ")
  }
}
