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
      for chart in section.charts { body += "<figure>" + chart.svg() + "</figure>\n" }
      for plot in section.plots ?? [] { body += "<figure>" + plot.svg() + "</figure>\n" }
      body += "</section>\n"
    }
    return """
      <!DOCTYPE html>
      <html lang="en"><head><meta charset="utf-8"><title>\(escapeHTML(title))</title>
      <style>
      body{font-family:system-ui,sans-serif;max-width:76rem;margin:2rem auto;padding:0 1rem;color:#222}
      table{border-collapse:collapse;margin:1rem 0;font-size:.85rem}th,td{border:1px solid #ccc;padding:.25rem .5rem}
      .scroll{overflow-x:auto}
      th{background:#f3f3f3}td{text-align:right}td:first-child{text-align:left}
      .note{font-size:.85rem;color:#555}.sub{color:#555}figure{margin:1rem 0}svg{max-width:100%;height:auto}
      td.l{text-align:left}h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2rem}
      </style></head><body>
      \(body)</body></html>

      """
  }
}

extension ReportTable {
  public func html() -> String {
    var out = title.map { "<h3>\(escapeHTML($0))</h3>\n" } ?? ""
    out +=
      "<div class=\"scroll\"><table><thead><tr>" + columns.map { "<th>\(escapeHTML($0))</th>" }.joined() + "</tr></thead><tbody>\n"
    for row in rows { out += "<tr>" + row.map { "<td>\(escapeHTML($0))</td>" }.joined() + "</tr>\n" }
    out += "</tbody></table></div>\n"
    for note in notes { out += "<p class=\"note\">\(escapeHTML(note))</p>\n" }
    return out
  }
}

func escapeHTML(_ text: String) -> String {
  text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
    .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}
