import Foundation
import Testing

@testable import Report

/// Hardware-aware plan records in a report: predicted beside measured latency, the error over every
/// plan tried, quality (accuracy or fidelity) against measured latency.
@Suite struct PlanReportTests {
  static func record(_ method: String, ms: Double, fidelity: Double, attempts: [(Double, Double)]?) -> RunRecord {
    var r = RunRecord(
      label: "\(method) 2x", model: .init(path: "(in memory)", format: "onnx", sizeBytes: 10, parameters: 10, nonzeroParameters: 5))
    r.recipe = .init(method: method)
    r.fidelity = .init(mean: fidelity, min: fidelity / 2, count: 200)
    r.latency = .init(batch: 1, threads: 1, p50Milliseconds: ms, p99Milliseconds: ms * 1.1, runs: 20)
    r.dense = .init(path: "minilm.onnx", p50Milliseconds: 16)
    if let attempts {
      // (predicted, measured) per attempt; the last is the kept plan.
      r.prediction = .init(
        milliseconds: attempts.last!.0, target: "2x", targetMilliseconds: 8,
        attempts: attempts.map { .init(budgetMilliseconds: 8, predictedMilliseconds: $0.0, measuredMilliseconds: $0.1) })
    }
    return r
  }

  let records = [
    record("latency-aware", ms: 8, fidelity: 0.7, attempts: [(9, 10), (7.6, 8)]),
    record("uniform magnitude", ms: 7.9, fidelity: 0.4, attempts: nil),
  ]

  @Test func predictedAndMeasuredSideBySide() throws {
    let table = try #require(RunReport.predictionTable(records))
    #expect(table.rows.count == 2)
    let planned = table.rows[0]
    // measured 8, predicted 7.6: −5.0 %; speed-up 16 / 8.
    #expect(planned[3] == formatNumber(8) && planned[4] == formatNumber(7.6))
    #expect(planned[5] == "-5.0%" && planned[6] == "2.00×" && planned[7] == formatNumber(0.7))
    #expect(table.rows[1][4] == "—" && table.rows[1][5] == "—")
    #expect(RunReport.predictionTable([records[1]]) == nil)
  }

  @Test func errorOverEveryPlanTried() throws {
    let table = try #require(RunReport.predictionErrorTable(records))
    // Attempts: (9 − 10) / 10 = −10 %, (7.6 − 8) / 8 = −5 %.
    #expect(table.rows == [["minilm.onnx", "2", "7.5%", "10.0%", "-7.5%"]])
  }

  @Test func fidelityRecordsGetALatencyChartAndThePlansSection() {
    let plot = RunReport.fidelityVsLatency(records)
    #expect(plot?.series.flatMap(\.points).count == 2)
    let html = RunReport.document(records).html()
    #expect(html.contains("Latency vs fidelity") && html.contains("Planned models: predicted and measured latency"))
    #expect(!html.contains("data-points=\"0\""))
  }
}
