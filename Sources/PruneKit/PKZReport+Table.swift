import Compression
import Foundation
import Report

/// A `PKZReport` as a table (the CLI prints its text form; reports can embed it).
extension PKZReport {
  /// One row per compressed layer; the notes give the raw graph parts, framing and the total
  /// (= the file's size).
  public func reportTable() -> ReportTable {
    func one(_ x: Double) -> String { String(format: "%.1f", x) }
    let rows = layers.map { l -> [String] in
      [
        l.name, l.shape.map(String.init).joined(separator: "x"), "\(l.kind)", "\(l.scheme)", "\(l.bits)",
        one(100 * Double(l.entries) / Double(max(l.elements, 1))) + "%",
        "\(l.indexCoding)" + (l.indexCoding == .relativeGaps ? "/\(l.indexBits)b" : ""), "\(l.valueCoding)",
        "\(l.codebookBytes)", "\(l.indexBytes)", "\(l.valueBytes)", "\(l.totalBytes)", "\(l.denseBytes)",
        one(Double(l.denseBytes) / Double(max(l.totalBytes, 1))) + "x",
      ]
    }
    return ReportTable(
      columns: [
        "layer", "shape", "kind", "scheme", "bits", "kept", "index", "values", "codebook", "index B", "values B",
        "total B", "dense B", "ratio",
      ],
      rows: rows,
      notes: [
        "graph section (structure, raw tensors, raw masks): \(graphBytes) B",
        "framing (header, section table, layer-table overhead, trailer): \(framingBytes) B",
        "total: \(totalBytes) B on disk; dense Float32 parameters \(denseParameterBytes) B; ratio \(one(ratio))x",
      ])
  }
}
