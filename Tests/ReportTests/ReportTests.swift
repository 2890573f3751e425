import Foundation
import Testing

@testable import Report

@Suite struct ReportTests {
  let document = ReportDocument(
    title: "LeNet <300-100>", subtitle: "dense vs pruned",
    sections: [
      ReportSection(
        heading: "Energy",
        paragraphs: ["Modelled & measured."],
        tables: [
          ReportTable(
            columns: ["model", "µJ/inference"], rows: [["dense", "1.2|3"], ["pruned", "0.1"]],
            notes: ["modelled, Horowitz 45 nm"])
        ],
        charts: [
          BarChart(
            title: "Energy", unit: "µJ",
            bars: [
              .init(label: "dense", value: 10, group: "a"), .init(label: "pruned", value: 1, group: "b"),
            ])
        ])
    ])

  @Test func markdownHasTablesWithEscapedPipes() {
    let md = document.markdown()
    #expect(md.hasPrefix("# LeNet <300-100>\n"))
    #expect(md.contains("| model | µJ/inference |\n|---|---|\n| dense | 1.2\\|3 |"))
    #expect(md.contains("_modelled, Horowitz 45 nm_"))
  }

  @Test func htmlIsSelfContainedAndEscaped() {
    let html = document.html()
    #expect(html.contains("<h1>LeNet &lt;300-100&gt;</h1>"))
    #expect(html.contains("<svg"))
    #expect(!html.contains("<script"))
    #expect(!html.contains("http://") || html.contains("xmlns=\"http://www.w3.org/2000/svg\""))
    #expect(html.contains("Modelled &amp; measured."))
  }

  @Test func barLengthsAreProportional() {
    let svg = BarChart(
      title: "t", unit: "u", bars: [.init(label: "a", value: 4), .init(label: "b", value: 1)]
    ).svg()
    // Linear from zero on a 0…4 axis of 400 px: 4 → 400 px, 1 → 100 px.
    #expect(svg.contains("width=\"400.0\""))
    #expect(svg.contains("width=\"100.0\""))
  }

  @Test func jsonRoundTrips() throws {
    let decoded = try JSONDecoder().decode(ReportDocument.self, from: try document.json())
    #expect(decoded == document)
  }

  @Test func csvQuotesPerRFC4180() {
    let text = csv(columns: ["a", "b"], rows: [["x,y", "say \"hi\""], ["plain", "line\nbreak"]])
    #expect(text == "a,b\n\"x,y\",\"say \"\"hi\"\"\"\nplain,\"line\nbreak\"\n")
  }

  @Test func emissionsCSVHasCodeCarbonColumnsThenProvenance() {
    let record = EmissionsRecord(values: ["duration": "1.5", "provenance": "estimated", "pue": "1.0"])
    let lines = EmissionsRecord.csv([record]).split(separator: "\n")
    #expect(lines[0].hasPrefix("timestamp,project_name,run_id,duration,emissions,emissions_rate,cpu_power"))
    #expect(lines[0].hasSuffix("on_cloud,pue,provenance,method,low,high"))
    let cells = lines[1].split(separator: ",", omittingEmptySubsequences: false)
    #expect(cells.count == EmissionsRecord.columns.count)
    #expect(cells[3] == "1.5")
    #expect(cells[EmissionsRecord.columns.firstIndex(of: "provenance")!] == "estimated")
  }

  @Test func atomicWriteReplacesWholeFileAndLeavesNoTemporary() throws {
    let dir = NSTemporaryDirectory() + "report-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/out.md"
    try writeAtomically(Data("old".utf8), to: path)
    try writeAtomically(Data("new".utf8), to: path)
    #expect(String(decoding: FileManager.default.contents(atPath: path)!, as: UTF8.self) == "new")
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["out.md"])
    #expect(throws: (any Error).self) { try writeAtomically(Data("x".utf8), to: dir + "/missing/out.md") }
  }

  @Test func numbersAreFormattedReadably() {
    #expect(formatNumber(1234.5678) == "1235")
    #expect(formatNumber(0.012345) == "0.01235")
    #expect(formatNumber(2.5e-9) == "2.500e-09")
  }
}
