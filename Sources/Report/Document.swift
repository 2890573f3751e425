import Foundation

/// A report: plain values only, rendered to JSON, Markdown or self-contained HTML.
public struct ReportDocument: Codable, Sendable, Equatable {
  public var title: String
  public var subtitle: String?
  public var sections: [ReportSection]

  public init(title: String, subtitle: String? = nil, sections: [ReportSection] = []) {
    self.title = title
    self.subtitle = subtitle
    self.sections = sections
  }
}

public struct ReportSection: Codable, Sendable, Equatable {
  public var heading: String
  public var paragraphs: [String]
  public var tables: [ReportTable]
  public var charts: [BarChart]
  /// Scatter and line charts (drawn after the bar charts).
  public var plots: [XYPlot]?

  public init(
    heading: String, paragraphs: [String] = [], tables: [ReportTable] = [], charts: [BarChart] = [],
    plots: [XYPlot] = []
  ) {
    self.heading = heading
    self.paragraphs = paragraphs
    self.tables = tables
    self.charts = charts
    self.plots = plots.isEmpty ? nil : plots
  }
}

/// A table of already-formatted cells; `notes` are printed under it (provenance, sources).
public struct ReportTable: Codable, Sendable, Equatable {
  public var title: String?
  public var columns: [String]
  public var rows: [[String]]
  public var notes: [String]

  public init(title: String? = nil, columns: [String], rows: [[String]], notes: [String] = []) {
    precondition(
      rows.allSatisfy { $0.count == columns.count },
      "ReportTable '\(title ?? "")': every row needs \(columns.count) cells")
    self.title = title
    self.columns = columns
    self.rows = rows
    self.notes = notes
  }
}

/// A horizontal bar chart; bars of the same `group` share a colour (e.g. dense vs pruned).
public struct BarChart: Codable, Sendable, Equatable {
  public struct Bar: Codable, Sendable, Equatable {
    public var label: String
    public var value: Double
    public var group: String?
    public init(label: String, value: Double, group: String? = nil) {
      self.label = label
      self.value = value
      self.group = group
    }
  }

  public var title: String
  public var unit: String
  public var bars: [Bar]
  /// Log10 axis (said in the title and on the axis); otherwise linear from zero, so that lengths are
  /// proportional to values.
  public var logScale: Bool
  /// What the value axis measures ("energy per inference"); the title when nil.
  public var axisLabel: String?

  public init(title: String, unit: String, bars: [Bar], logScale: Bool = false, axisLabel: String? = nil) {
    self.title = title
    self.unit = unit
    self.bars = bars
    self.logScale = logScale
    self.axisLabel = axisLabel
  }
}

extension ReportDocument {
  public func json() throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    return try encoder.encode(self)
  }
}

/// Writes `data` to a temporary file beside `path` and renames it into place, so a failed run
/// never leaves a half-written output.
public func writeAtomically(_ data: Data, to path: String) throws {
  let url = URL(fileURLWithPath: path)
  let temporary = url.deletingLastPathComponent()
    .appendingPathComponent(".\(url.lastPathComponent).tmp-\(UUID().uuidString)")
  do {
    try data.write(to: temporary)
    // rename(2) replaces the destination atomically on one file system.
    guard rename(temporary.path, url.path) == 0 else {
      throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
    }
  } catch {
    try? FileManager.default.removeItem(at: temporary)
    throw error
  }
}
