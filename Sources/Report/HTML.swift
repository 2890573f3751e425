import Foundation

/// Self-contained HTML: inline CSS and SVG charts, no scripts, no external resources.
extension ReportDocument {
  public func html() -> String {
    var body = "<h1>\(escapeHTML(title))</h1>\n"
    if let subtitle { body += "<p class=\"sub\">\(escapeHTML(subtitle))</p>\n" }
    for section in sections {
      body += "<section><h2>\(escapeHTML(section.heading))</h2>\n"
      for paragraph in section.paragraphs { body += "<p>\(escapeHTML(paragraph))</p>\n" }
      for table in section.tables { body += table.html() }
      for chart in section.charts { body += chart.svg() }
      body += "</section>\n"
    }
    return """
      <!DOCTYPE html>
      <html lang="en"><head><meta charset="utf-8"><title>\(escapeHTML(title))</title>
      <style>
      body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
      table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #ccc;padding:.3rem .6rem}
      th{background:#f3f3f3}td{text-align:right}td:first-child{text-align:left}
      .note{font-size:.85rem;color:#555}.sub{color:#555}svg{margin:1rem 0}
      </style></head><body>
      \(body)</body></html>

      """
  }
}

extension ReportTable {
  public func html() -> String {
    var out = title.map { "<h3>\(escapeHTML($0))</h3>\n" } ?? ""
    out +=
      "<table><thead><tr>" + columns.map { "<th>\(escapeHTML($0))</th>" }.joined() + "</tr></thead><tbody>\n"
    for row in rows { out += "<tr>" + row.map { "<td>\(escapeHTML($0))</td>" }.joined() + "</tr>\n" }
    out += "</tbody></table>\n"
    for note in notes { out += "<p class=\"note\">\(escapeHTML(note))</p>\n" }
    return out
  }
}

extension BarChart {
  static let palette = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1"]

  /// Horizontal bars, one row each; value labels at the bar ends; log scale when asked.
  public func svg() -> String {
    let rowHeight = 22.0
    let labelWidth = 220.0
    let plotWidth = 420.0
    let height = Double(bars.count) * rowHeight + 40
    let groups = Array(Set(bars.compactMap(\.group))).sorted()
    let maxValue = bars.map(\.value).max() ?? 1
    func length(_ value: Double) -> Double {
      guard value > 0, maxValue > 0 else { return 0 }
      if logScale {
        let minValue = bars.map(\.value).filter { $0 > 0 }.min() ?? value
        let span = max(1e-12, Foundation_log10(maxValue) - Foundation_log10(minValue) + 1)
        return plotWidth * (Foundation_log10(value) - Foundation_log10(minValue) + 1) / span
      }
      return plotWidth * value / maxValue
    }
    var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(labelWidth + plotWidth + 120))\" "
    out += "height=\"\(Int(height))\" role=\"img\" aria-label=\"\(escapeHTML(title))\">\n"
    out += "<text x=\"0\" y=\"16\" font-weight=\"bold\">\(escapeHTML(title)) (\(escapeHTML(unit)))</text>\n"
    for (index, bar) in bars.enumerated() {
      let y = 28 + Double(index) * rowHeight
      let colour = Self.palette[(groups.firstIndex(of: bar.group ?? "") ?? 0) % Self.palette.count]
      let w = length(bar.value)
      out += "<text x=\"0\" y=\"\(y + 14)\" font-size=\"12\">\(escapeHTML(bar.label))</text>"
      out +=
        "<rect x=\"\(labelWidth)\" y=\"\(y)\" width=\"\(String(format: "%.1f", w))\" height=\"16\" fill=\"\(colour)\"/>"
      out += "<text x=\"\(String(format: "%.1f", labelWidth + w + 4))\" y=\"\(y + 13)\" font-size=\"11\">"
      out += "\(formatNumber(bar.value))</text>\n"
    }
    out += "</svg>\n"
    return out
  }
}

func escapeHTML(_ text: String) -> String {
  text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
    .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}

private func Foundation_log10(_ x: Double) -> Double { log10(x) }
