import Foundation

/// A scatter or line chart: series of (x, y) points, axes with units, linear unless marked log, and
/// optionally the Pareto front (lower x, higher y better) drawn over all points.
public struct XYPlot: Codable, Sendable, Equatable {
  public struct Point: Codable, Sendable, Equatable {
    public var x: Double
    public var y: Double
    public var label: String?
    public init(x: Double, y: Double, label: String? = nil) {
      self.x = x
      self.y = y
      self.label = label
    }
  }

  public struct Series: Codable, Sendable, Equatable {
    public var name: String
    public var points: [Point]
    /// Join the points (sorted by x) with a line.
    public var connect: Bool
    public init(name: String, points: [Point], connect: Bool = true) {
      self.name = name
      self.points = points
      self.connect = connect
    }
  }

  public var title: String
  public var xLabel: String
  public var xUnit: String
  public var yLabel: String
  public var yUnit: String
  public var xLog: Bool
  public var yLog: Bool
  public var series: [Series]
  public var paretoFront: Bool

  public init(
    title: String, x: (label: String, unit: String), y: (label: String, unit: String), series: [Series],
    xLog: Bool = false, yLog: Bool = false, paretoFront: Bool = false
  ) {
    self.title = title
    (xLabel, xUnit, yLabel, yUnit) = (x.label, x.unit, y.label, y.unit)
    self.series = series
    self.xLog = xLog
    self.yLog = yLog
    self.paretoFront = paretoFront
  }

  var allPoints: [Point] { series.flatMap(\.points) }
}

/// Shared SVG pieces: the chart frame, axes with ticks and labels.
enum SVG {
  static let palette = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1", "#9c755f", "#edc948"]

  static func f(_ x: Double) -> String { String(format: "%.1f", x) }

  static func axisTitle(_ label: String, _ unit: String, log: Bool) -> String {
    var t = label
    if !unit.isEmpty { t += " (\(unit))" }
    if log { t += " — log scale" }
    return t
  }

  /// A vertical grid line per tick of `scale` (x position `at(tick)`) from y `from` to `to`, with the
  /// tick's label centred at y `labelsAt`.
  static func verticalGrid(_ scale: AxisScale, at: (Double) -> Double, from: Double, to: Double, labelsAt: Double)
    -> String
  {
    scale.ticks.map { t in
      "<line x1=\"\(f(at(t)))\" y1=\"\(f(from))\" x2=\"\(f(at(t)))\" y2=\"\(f(to))\" stroke=\"#e4e4e4\"/>"
        + "<text x=\"\(f(at(t)))\" y=\"\(f(labelsAt))\" font-size=\"11\" text-anchor=\"middle\">\(scale.tickLabel(t))</text>\n"
    }.joined()
  }

  static func open(width: Double, height: Double, title: String, points: Int) -> String {
    "<svg class=\"chart\" data-points=\"\(points)\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" "
      + "height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" "
      + "aria-label=\"\(escapeHTML(title))\" font-family=\"system-ui,sans-serif\">\n"
      + "<text x=\"0\" y=\"16\" font-size=\"14\" font-weight=\"bold\">\(escapeHTML(title))</text>\n"
  }
}

extension XYPlot {
  public func svg() -> String {
    let (width, height) = (680.0, 400.0)
    let (left, right, top, bottom) = (70.0, 190.0, 34.0, 52.0)
    let plotW = width - left - right
    let plotH = height - top - bottom
    let points = allPoints
    let xs = AxisScale(covering: points.map(\.x), log: xLog)
    let ys = AxisScale(covering: points.map(\.y), log: yLog)
    func px(_ x: Double) -> Double { left + xs.fraction(x) * plotW }
    func py(_ y: Double) -> Double { top + (1 - ys.fraction(y)) * plotH }
    var out = SVG.open(width: width, height: height, title: title, points: points.count)
    // Grid, ticks and tick labels.
    out += SVG.verticalGrid(xs, at: px, from: top, to: top + plotH, labelsAt: top + plotH + 16)
    for t in ys.ticks {
      out += "<line x1=\"\(left)\" y1=\"\(SVG.f(py(t)))\" x2=\"\(left + plotW)\" y2=\"\(SVG.f(py(t)))\" stroke=\"#e4e4e4\"/>"
      out += "<text x=\"\(left - 6)\" y=\"\(SVG.f(py(t) + 4))\" font-size=\"11\" text-anchor=\"end\">\(ys.tickLabel(t))</text>\n"
    }
    out += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(plotW)\" height=\"\(plotH)\" fill=\"none\" stroke=\"#888\"/>\n"
    out += "<text x=\"\(SVG.f(left + plotW / 2))\" y=\"\(height - 10)\" font-size=\"12\" text-anchor=\"middle\">"
      + "\(escapeHTML(SVG.axisTitle(xLabel, xUnit, log: xLog)))</text>\n"
    out += "<text transform=\"translate(16 \(SVG.f(top + plotH / 2))) rotate(-90)\" font-size=\"12\" "
      + "text-anchor=\"middle\">\(escapeHTML(SVG.axisTitle(yLabel, yUnit, log: yLog)))</text>\n"
    if paretoFront {
      let front = Report.paretoFront(points.map { ($0.x, $0.y) }).map { points[$0] }
      if front.count > 1 {
        out += "<polyline class=\"pareto\" fill=\"none\" stroke=\"#222\" stroke-dasharray=\"5 3\" stroke-width=\"1.5\" points=\""
          + front.map { "\(SVG.f(px($0.x))),\(SVG.f(py($0.y)))" }.joined(separator: " ") + "\"/>\n"
      }
      for p in front {
        out += "<circle cx=\"\(SVG.f(px(p.x)))\" cy=\"\(SVG.f(py(p.y)))\" r=\"8\" fill=\"none\" stroke=\"#222\" stroke-width=\"1.5\"/>"
      }
    }
    // Points drawn within 6 px of each other share one label ("shared, Huffman .pkz").
    var labels: [String: [String]] = [:]
    var labelOrder: [String] = []
    func key(_ p: Point) -> String { "\(Int((px(p.x) / 6).rounded())),\(Int((py(p.y) / 6).rounded()))" }
    for p in points {
      guard let label = p.label else { continue }
      if labels[key(p)] == nil { labelOrder.append(key(p)) }
      if !(labels[key(p)] ?? []).contains(label) { labels[key(p), default: []].append(label) }
    }
    var labelled = Set<String>()
    var placed: [(x: Double, y: Double, width: Double)] = []
    let labelPoints = labelOrder.count <= 12
    for (s, item) in series.enumerated() {
      let colour = SVG.palette[s % SVG.palette.count]
      let sorted = item.points.sorted { $0.x < $1.x }
      if item.connect && sorted.count > 1 {
        out += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\" points=\""
          + sorted.map { "\(SVG.f(px($0.x))),\(SVG.f(py($0.y)))" }.joined(separator: " ") + "\"/>\n"
      }
      for p in sorted {
        let tip = "\(p.label.map { $0 + ": " } ?? "")\(formatNumber(p.x)) \(xUnit), \(formatNumber(p.y)) \(yUnit)"
        out += "<circle class=\"point\" cx=\"\(SVG.f(px(p.x)))\" cy=\"\(SVG.f(py(p.y)))\" r=\"4.5\" fill=\"\(colour)\">"
          + "<title>\(escapeHTML(tip))</title></circle>"
        if labelPoints, p.label != nil, !labelled.contains(key(p)) {
          labelled.insert(key(p))
          let text = (labels[key(p)] ?? []).joined(separator: ", ")
          // Labels of points in the right third go to their left, so they stay inside the plot.
          let right = px(p.x) > left + plotW * 0.66
          let width = Double(text.count) * 5.5
          let lx = right ? px(p.x) - 7 - width : px(p.x) + 7
          var ly = py(p.y) - 7
          // Move below any label already placed where this one would overlap it.
          while placed.contains(where: { abs($0.y - ly) < 11 && lx < $0.x + $0.width && $0.x < lx + width }) { ly += 12 }
          placed.append((lx, ly, width))
          out += "<text x=\"\(SVG.f(px(p.x) + (right ? -7 : 7)))\" y=\"\(SVG.f(ly))\" font-size=\"10\" "
            + "fill=\"#444\"\(right ? " text-anchor=\"end\"" : "")>\(escapeHTML(text))</text>"
        }
        out += "\n"
      }
      let ly = top + 14 + Double(s) * 18
      out += "<circle cx=\"\(left + plotW + 16)\" cy=\"\(SVG.f(ly - 4))\" r=\"5\" fill=\"\(colour)\"/>"
      out += "<text x=\"\(left + plotW + 26)\" y=\"\(SVG.f(ly))\" font-size=\"11\">\(escapeHTML(String(item.name.prefix(27))))</text>\n"
    }
    if paretoFront {
      let ly = top + 14 + Double(series.count) * 18
      out += "<line x1=\"\(left + plotW + 8)\" y1=\"\(SVG.f(ly - 4))\" x2=\"\(left + plotW + 22)\" y2=\"\(SVG.f(ly - 4))\" "
        + "stroke=\"#222\" stroke-dasharray=\"5 3\"/>"
      out += "<text x=\"\(left + plotW + 26)\" y=\"\(SVG.f(ly))\" font-size=\"11\">Pareto front</text>\n"
    }
    return out + "</svg>\n"
  }
}

extension BarChart {
  /// Horizontal bars on a linear axis from zero (lengths proportional to values; negative values
  /// extend left of zero), or on a log axis that the title and axis say is log. Ticks and a labelled
  /// axis with the unit; the value at each bar's end.
  public func svg() -> String {
    let rowHeight = 22.0
    let labelWidth = 230.0
    let plotWidth = 400.0
    let top = 30.0
    let legend = Set(bars.compactMap(\.group)).count > 1
    let height = top + Double(bars.count) * rowHeight + 44 + (legend ? 22 : 0)
    let groups = Array(Set(bars.compactMap(\.group))).sorted()
    let scale = AxisScale(covering: bars.map(\.value), log: logScale, includeZero: !logScale)
    func x(_ v: Double) -> Double { labelWidth + scale.fraction(v) * plotWidth }
    let base = logScale ? labelWidth : x(0)
    let heading = logScale ? "\(title) — log scale" : title
    var out = SVG.open(width: labelWidth + plotWidth + 90, height: height, title: heading, points: bars.count)
    let axisY = top + Double(bars.count) * rowHeight + 4
    out += SVG.verticalGrid(scale, at: x, from: top - 4, to: axisY, labelsAt: axisY + 14)
    out += "<line x1=\"\(SVG.f(base))\" y1=\"\(top - 4)\" x2=\"\(SVG.f(base))\" y2=\"\(SVG.f(axisY))\" stroke=\"#888\"/>\n"
    out += "<text x=\"\(SVG.f(labelWidth + plotWidth / 2))\" y=\"\(SVG.f(axisY + 32))\" font-size=\"12\" text-anchor=\"middle\">"
      + "\(escapeHTML(SVG.axisTitle(axisLabel ?? title, unit, log: logScale)))</text>\n"
    for (index, bar) in bars.enumerated() {
      let y = top + Double(index) * rowHeight
      let colour = SVG.palette[(groups.firstIndex(of: bar.group ?? "") ?? 0) % SVG.palette.count]
      let end = x(bar.value)
      let (x0, w) = (min(base, end), abs(end - base))
      out += "<text x=\"0\" y=\"\(SVG.f(y + 14))\" font-size=\"12\">\(escapeHTML(String(bar.label.prefix(34))))</text>"
      out += "<rect class=\"bar\" x=\"\(SVG.f(x0))\" y=\"\(SVG.f(y))\" width=\"\(SVG.f(w))\" height=\"16\" fill=\"\(colour)\">"
      out += "<title>\(escapeHTML(bar.label)): \(formatNumber(bar.value)) \(escapeHTML(unit))</title></rect>"
      let textX = bar.value < 0 ? x0 - 4 : x0 + w + 4
      out += "<text x=\"\(SVG.f(textX))\" y=\"\(SVG.f(y + 13))\" font-size=\"11\"\(bar.value < 0 ? " text-anchor=\"end\"" : "")>"
      out += "\(formatNumber(bar.value))</text>\n"
    }
    if groups.count > 1 {
      for (g, name) in groups.enumerated() {
        let lx = labelWidth + Double(g) * 130
        let ly = axisY + 44
        out += "<rect x=\"\(SVG.f(lx))\" y=\"\(SVG.f(ly))\" width=\"10\" height=\"10\" fill=\"\(SVG.palette[g % SVG.palette.count])\"/>"
        out += "<text x=\"\(SVG.f(lx + 14))\" y=\"\(SVG.f(ly + 9))\" font-size=\"11\">\(escapeHTML(name))</text>"
      }
      out += "\n"
    }
    return out + "</svg>\n"
  }
}
