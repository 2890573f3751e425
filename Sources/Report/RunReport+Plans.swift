import Foundation

/// Hardware-aware plans in a report (`prunekit plan --compare` records): each model's measured latency
/// beside what the cost table predicted for it, quality against measured latency, and the prediction
/// error over every plan the planner tried.
extension RunReport {
  /// The quality a record reports: accuracy where it has one, else embedding fidelity (mean cosine).
  static func quality(_ r: RunRecord) -> (value: Double, name: String)? {
    if let a = accuracy(r) { return (a, "accuracy") }
    return r.fidelity.map { ($0.mean, "fidelity") }
  }

  /// One row per record with a latency, when any record carries a plan's prediction: target, measured
  /// and predicted latency side by side, the prediction's error, speed-up over the dense model, quality.
  public static func predictionTable(_ records: [RunRecord]) -> ReportTable? {
    guard records.contains(where: { $0.prediction != nil }) else { return nil }
    let timed = records.filter { $0.latency != nil }
    let micro = timed.allSatisfy { $0.latency!.p50Milliseconds < 1 }
    let (unit, scale) = micro ? ("µs", 1000.0) : ("ms", 1.0)
    let rows = timed.map { r -> [String] in
      let measured = r.latency!.p50Milliseconds
      let predicted = r.prediction?.milliseconds
      let speedup = r.dense?.p50Milliseconds.map { String(format: "%.2f×", $0 / measured) } ?? "—"
      let q = quality(r)
      return [
        r.label, r.prediction?.target ?? "—",
        number(r.prediction?.targetMilliseconds.map { $0 * scale }), number(measured * scale),
        number(predicted.map { $0 * scale }),
        predicted.map { String(format: "%+.1f%%", 100 * ($0 - measured) / measured) } ?? "—", speedup,
        q.map { $0.name == "accuracy" ? percent($0.value) : formatNumber($0.value) } ?? "—",
      ]
    }
    return ReportTable(
      title: "Planned models: predicted and measured latency", columns: [
        "model", "target", "target \(unit)", "measured p50 \(unit)", "predicted \(unit)", "prediction error",
        "speed-up", "quality",
      ], rows: rows,
      notes: [
        "Measured: the whole model re-timed after applying the plan; predicted: the cost table's per-layer times, "
          + "each layer narrowed by the chosen cuts it belongs to at their measured scale, plus the change the cuts "
          + "make to the ops around them (timed inside the model) and the measured non-layer overhead. Error = (predicted − measured) / measured; negative = "
          + "the table predicted too fast. Rows without a prediction are the baselines matched to the same "
          + "measured latency."
      ])
  }

  /// The cost table's prediction error over every plan tried (each re-measured attempt is a plan), per
  /// dense model.
  public static func predictionErrorTable(_ records: [RunRecord]) -> ReportTable? {
    var order: [String] = []
    var errors: [String: [Double]] = [:]
    for r in records {
      guard let p = r.prediction else { continue }
      let model = r.dense?.path ?? r.model.path
      let tried =
        p.attempts
        ?? r.latency.map { [.init(budgetMilliseconds: p.milliseconds, predictedMilliseconds: p.milliseconds, measuredMilliseconds: $0.p50Milliseconds)] }
        ?? []
      if errors[model] == nil { order.append(model) }
      errors[model, default: []] += tried.map { ($0.predictedMilliseconds - $0.measuredMilliseconds) / $0.measuredMilliseconds }
    }
    guard !order.isEmpty else { return nil }
    let rows = order.map { model -> [String] in
      let e = errors[model]!
      guard !e.isEmpty else { return [model, "0", "—", "—", "—"] }
      let absolute = e.map(abs)
      return [
        model, "\(e.count)", String(format: "%.1f%%", 100 * absolute.reduce(0, +) / Double(e.count)),
        String(format: "%.1f%%", 100 * absolute.max()!), String(format: "%+.1f%%", 100 * e.reduce(0, +) / Double(e.count)),
      ]
    }
    return ReportTable(
      title: "Cost-table prediction error over the plans tried",
      columns: ["dense model", "plans tried", "mean |error|", "max |error|", "mean signed"], rows: rows,
      notes: ["Every plan the planner applied and re-measured (the kept plan and the re-solves on the way)."])
  }

  /// Fidelity (mean cosine to the dense model) against measured latency, for records without accuracy.
  public static func fidelityVsLatency(_ records: [RunRecord]) -> XYPlot? {
    let fidelityOnly = records.filter { accuracy($0) == nil && $0.fidelity != nil && $0.latency != nil }
    guard !fidelityOnly.isEmpty else { return nil }
    let micro = fidelityOnly.allSatisfy { $0.latency!.p50Milliseconds < 1 }
    let s = series(fidelityOnly) { r in
      .init(x: r.latency!.p50Milliseconds * (micro ? 1000 : 1), y: r.fidelity!.mean, label: r.label)
    }.map { XYPlot.Series(name: $0.name, points: $0.points, connect: false) }
    return XYPlot(
      title: "Latency vs fidelity", x: ("latency p50, batch 1", micro ? "µs" : "ms"), y: ("fidelity", "mean cosine"),
      series: s, paretoFront: true)
  }
}
