import Foundation
import Testing

@testable import Report

@Suite struct ChartScaleTests {
  @Test func linearBarsAreProportionalToValues() throws {
    // The energy chart's case: 15.5 µJ must be drawn at 15.5/306 of 306 µJ's length, not half of it.
    let svg = BarChart(title: "Energy", unit: "µJ", bars: [.init(label: "pruned", value: 15.5), .init(label: "dense", value: 306)]).svg()
    let widths = try barWidths(svg)
    #expect(widths.count == 2)
    #expect(abs(widths[0] / widths[1] - 15.5 / 306) < 0.002, "\(widths)")
    #expect(!svg.contains("log scale"))
  }

  @Test func logScaleSaysSoInTitleAndAxis() {
    let svg = BarChart(title: "Energy", unit: "µJ", bars: [.init(label: "a", value: 15.5), .init(label: "b", value: 306)], logScale: true).svg()
    #expect(svg.contains("Energy — log scale</text>") && svg.contains("Energy (µJ) — log scale</text>"))
  }

  @Test func negativeBarsExtendLeftOfZero() throws {
    let svg = BarChart(title: "Change", unit: "pt", bars: [.init(label: "a", value: -2), .init(label: "b", value: 4)]).svg()
    let widths = try barWidths(svg)
    #expect(abs(widths[0] * 2 - widths[1]) < 0.2, "\(widths)")
  }

  @Test func axisFractionsAndTicks() {
    let s = AxisScale(covering: [0.3, 9.6])
    #expect(s.lower == 0 && s.upper == 10)
    #expect(s.ticks == [0, 2, 4, 6, 8, 10])
    #expect(abs(s.fraction(5) - 0.5) < 1e-12)
    let log = AxisScale(covering: [15.5, 306], log: true)
    #expect(log.lower == 10 && log.upper == 1000)
    #expect(log.ticks == [10, 100, 1000])
    #expect(abs(log.fraction(100) - 0.5) < 1e-12)
    #expect(AxisScale.niceStep(0.8) == 1 && AxisScale.niceStep(1.2) == 2 && AxisScale.niceStep(31) == 50)
  }

  @Test func paretoFrontKeepsOnlyUndominatedPoints() {
    // (cost, accuracy): b dominates c (cheaper and more accurate); d is dominated by b; a and e are on it.
    let points: [(x: Double, y: Double)] = [(1, 90), (2, 95), (3, 94), (2.5, 95), (10, 99)]
    #expect(paretoFront(points) == [0, 1, 4])
    #expect(paretoFront([]) == [])
    #expect(paretoFront([(1, 1), (1, 2)]) == [1])
  }

  @Test func plotDrawsEveryPointAndMarksTheFront() {
    let plot = XYPlot(
      title: "Energy vs accuracy", x: ("energy", "µJ"), y: ("accuracy", "%"),
      series: [.init(name: "magnitude", points: [.init(x: 1, y: 90), .init(x: 2, y: 95), .init(x: 3, y: 94)], connect: false)],
      paretoFront: true)
    let svg = plot.svg()
    #expect(svg.components(separatedBy: "class=\"point\"").count - 1 == 3)
    #expect(svg.contains("class=\"pareto\""))
    #expect(svg.contains("energy (µJ)") && svg.contains("accuracy (%)"))
    #expect(svg.contains("data-points=\"3\""))
  }

  func barWidths(_ svg: String) throws -> [Double] {
    svg.components(separatedBy: "class=\"bar\"").dropFirst().map { part in
      let w = part.components(separatedBy: "width=\"")[1].prefix { $0 != "\"" }
      return Double(w) ?? -1
    }
  }
}

@Suite struct TextTableTests {
  @Test func columnsArePaddedAndNumbersRightAligned() {
    let table = ReportTable(columns: ["model", "size", "acc"], rows: [["dense.onnx", "1.07 MB", "98.10%"], ["p.pkz", "40 kB", "9.00%"]])
    #expect(
      table.text() == """
        model          size     acc
        dense.onnx  1.07 MB  98.10%
        p.pkz         40 kB   9.00%

        """)
  }

  @Test func titleRuleNotesAndIndent() {
    let table = ReportTable(title: "T", columns: ["a", "b"], rows: [["x", "1"]], notes: ["n"])
    #expect(table.text(rule: true, indent: "  ") == "  T\n  a  b\n  -  -\n  x  1\n  n\n")
  }

  @Test func numericCells() {
    for cell in ["12", "-3.5", "98.1%", "1.2 MB", "×2.4", "2.4x", "1.5e-3", "+0.2 pt", "266,200"] {
      #expect(ReportTable.looksNumeric(cell), "\(cell)")
    }
    for cell in ["dense", "lenet 300", "", "v1.2 beta release"] { #expect(!ReportTable.looksNumeric(cell), "\(cell)") }
  }
}

@Suite struct RunReportTests {
  static func record(_ label: String, sparsity: Double, accuracy: Double, joules: Double, method: String) -> RunRecord {
    var r = RunRecord(
      label: label,
      model: .init(path: "\(label).onnx", format: "onnx", sizeBytes: 1000, parameters: 100, nonzeroParameters: Int(100 * (1 - sparsity)), macs: 100))
    r.recipe = .init(method: method, targetSparsity: sparsity)
    r.accuracy = .init(
      top1: accuracy, perClass: [.init(label: 0, support: 5, precision: 0.9, recall: 0.8, f1: 0.85)])
    r.energy = .init(joulesPerInference: joules, co2GramsPerInference: joules * 1e-4, provenance: "modelled", method: "m")
    r.latency = .init(batch: 1, threads: 1, p50Milliseconds: joules * 1e3, p99Milliseconds: joules * 2e3, runs: 5)
    var dense = RunRecord.DenseFacts(path: "dense.onnx", accuracy: 0.95)
    dense.perClass = [.init(label: 0, support: 5, precision: 0.9, recall: 0.9, f1: 0.9)]
    r.dense = dense
    return r
  }

  let records = [
    record("m50", sparsity: 0.5, accuracy: 0.94, joules: 2e-6, method: "magnitude"),
    record("m90", sparsity: 0.9, accuracy: 0.90, joules: 1e-6, method: "magnitude"),
    record("w90", sparsity: 0.9, accuracy: 0.93, joules: 1e-6, method: "wanda"),
  ]

  @Test func pageHasEveryModelAndChart() {
    let html = RunReport.document(records).html()
    for label in ["m50", "m90", "w90"] { #expect(html.contains(label)) }
    #expect(html.contains("Accuracy vs sparsity") && html.contains("Energy vs accuracy") && html.contains("Pareto front"))
    #expect(html.contains("recall change per class"))
    #expect(!html.contains("<script") && !html.contains("src="))
    // Every chart has data.
    #expect(!html.contains("data-points=\"0\""))
  }

  @Test func factsTableSaysTheSameInEveryForm() {
    let table = RunReport.factsTable(records)
    let text = table.text()
    let md = table.markdown()
    let html = table.html()
    for cell in table.rows.flatMap({ $0 }) {
      #expect(text.contains(cell) && md.contains(cell) && html.contains(escapeHTML(cell)), "\(cell)")
    }
  }

  @Test func perClassChangeIsModelMinusDense() throws {
    let chart = try #require(RunReport.perClassChange(records[0]))
    #expect(abs(chart.bars[0].value - (-10)) < 1e-9)
  }

  @Test func bundleRoundTrips() throws {
    let bundle = ReportBundle(title: "t", runs: records)
    let path = NSTemporaryDirectory() + "bundle-\(UUID().uuidString).json"
    defer { try? FileManager.default.removeItem(atPath: path) }
    try writeAtomically(try bundle.encoded(), to: path)
    #expect(try ReportBundle.runs(in: path) == records)
    try writeAtomically(try records[0].encoded(), to: path)
    #expect(try ReportBundle.runs(in: path) == [records[0]])
    try writeAtomically(Data("{\"schema\": \"other\"}".utf8), to: path)
    #expect(throws: RunRecordError.self) { try ReportBundle.runs(in: path) }
  }

  @Test func bytesAndCounts() {
    #expect(RunReport.bytes(999) == "999 B")
    #expect(RunReport.bytes(1_070_000) == "1.07 MB")
    #expect(RunReport.bytes(40_000) == "40.0 kB")
    #expect(RunReport.count(266_200) == "266,200")
  }
}
