/// Markdown rendering: GitHub tables, charts as tables of values (Markdown has no images here).
extension ReportDocument {
  /// Markdown; charts become tables of their values unless `includeCharts` is false.
  public func markdown(includeCharts: Bool = true) -> String {
    var out = "# \(title)\n"
    if let subtitle { out += "\n\(subtitle)\n" }
    for section in sections {
      out += "\n## \(section.heading)\n"
      for paragraph in section.paragraphs { out += "\n\(paragraph)\n" }
      for table in section.tables { out += "\n" + table.markdown() }
      for chart in section.charts where includeCharts {
        let rows = chart.bars.map { [$0.label, $0.group ?? "", formatNumber($0.value)] }
        out += "\n" + ReportTable(title: chart.title, columns: ["", "", chart.unit], rows: rows).markdown()
      }
      for plot in section.plots ?? [] where includeCharts {
        let rows = plot.series.flatMap { s in
          s.points.map { [s.name, $0.label ?? "", formatNumber($0.x), formatNumber($0.y)] }
        }
        let columns = ["series", "point", "\(plot.xLabel) (\(plot.xUnit))", "\(plot.yLabel) (\(plot.yUnit))"]
        out += "\n" + ReportTable(title: plot.title, columns: columns, rows: rows).markdown()
      }
    }
    return out
  }
}

extension ReportTable {
  public func markdown() -> String {
    func escape(_ cell: String) -> String { cell.replacingOccurrences(of: "|", with: "\\|") }
    var out = title.map { "**\($0)**\n\n" } ?? ""
    out += "| " + columns.map(escape).joined(separator: " | ") + " |\n"
    out += "|" + columns.map { _ in "---" }.joined(separator: "|") + "|\n"
    for row in rows { out += "| " + row.map(escape).joined(separator: " | ") + " |\n" }
    for note in notes { out += "\n_\(note)_\n" }
    return out
  }
}

/// Four significant digits, no exponent for ordinary magnitudes.
public func formatNumber(_ value: Double) -> String {
  if value == 0 { return "0" }
  let magnitude = abs(value)
  if magnitude >= 1e-3 && magnitude < 1e7 {
    let digits = max(0, 3 - Int((magnitude).log10Floor))
    return String(format: "%.\(min(digits, 6))f", value)
  }
  return String(format: "%.3e", value)
}

extension Double {
  fileprivate var log10Floor: Double {
    var exponent = 0.0
    var x = self
    while x >= 10 { x /= 10; exponent += 1 }
    while x < 1 { x *= 10; exponent -= 1 }
    return exponent
  }
}
