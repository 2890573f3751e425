/// Plain-text rendering of a `PKZReport` (the CLI prints it; the library only builds the string).
extension PKZReport {
  /// One row per compressed layer, then the raw graph parts, framing and the total (= file size).
  public func table() -> String {
    func pad(_ s: String, _ n: Int, left: Bool = false) -> String {
      let fill = String(repeating: " ", count: max(0, n - s.count))
      return left ? fill + s : s + fill
    }
    let header = [
      pad("layer", 16), pad("shape", 16), pad("kind", 5), pad("scheme", 8), pad("bits", 4, left: true),
      pad("kept", 7, left: true), pad("index", 11), pad("values", 9), pad("codebook", 9, left: true),
      pad("index B", 9, left: true), pad("values B", 9, left: true), pad("total B", 9, left: true),
      pad("dense B", 10, left: true), pad("ratio", 7, left: true),
    ].joined(separator: " ")
    var lines = [header, String(repeating: "-", count: header.count)]
    for l in layers {
      let kept = String(format1: 100 * Double(l.entries) / Double(max(l.elements, 1))) + "%"
      lines.append(
        [
          pad(l.name, 16), pad(l.shape.map(String.init).joined(separator: "x"), 16), pad("\(l.kind)", 5),
          pad("\(l.scheme)", 8), pad("\(l.bits)", 4, left: true), pad(kept, 7, left: true),
          pad("\(l.indexCoding)" + (l.indexCoding == .relativeGaps ? "/\(l.indexBits)b" : ""), 11),
          pad("\(l.valueCoding)", 9), pad("\(l.codebookBytes)", 9, left: true),
          pad("\(l.indexBytes)", 9, left: true), pad("\(l.valueBytes)", 9, left: true),
          pad("\(l.totalBytes)", 9, left: true), pad("\(l.denseBytes)", 10, left: true),
          pad(String(format1: Double(l.denseBytes) / Double(max(l.totalBytes, 1))) + "x", 7, left: true),
        ].joined(separator: " "))
    }
    lines.append("graph section (structure, raw tensors, raw masks): \(graphBytes) B")
    lines.append("framing (header, section table, layer-table overhead, trailer): \(framingBytes) B")
    lines.append(
      "total: \(totalBytes) B on disk; dense Float32 parameters \(denseParameterBytes) B; "
        + "ratio \(String(format1: ratio))x")
    return lines.joined(separator: "\n")
  }
}

extension String {
  /// `value` with one decimal (no Foundation formatting needed).
  init(format1 value: Double) {
    let tenths = Int((value * 10).rounded())
    self = "\(tenths / 10).\(abs(tenths % 10))"
  }
}
