import Foundation

/// The report of one or more run records (`prunekit report`, the demo's page, `prunekit eval`'s
/// terminal tables): one table of every model's facts, then accuracy vs sparsity per method,
/// energy and latency vs accuracy with the Pareto front, per-class and per-group change bars,
/// robustness, calibration and latency by op. All tables are `ReportTable`s, so the terminal,
/// Markdown and HTML forms hold the same cells.
public enum RunReport {
  // MARK: - Cell formats

  static func percent(_ x: Double?) -> String { x.map { String(format: "%.2f%%", 100 * $0) } ?? "—" }
  static func points(_ x: Double?) -> String { x.map { String(format: "%+.2f pt", 100 * $0) } ?? "—" }
  static func number(_ x: Double?) -> String { x.map(formatNumber) ?? "—" }

  /// Bytes as B, kB, MB, GB (powers of 1000).
  public static func bytes(_ n: Int) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"]
    var v = Double(n)
    var u = 0
    while v >= 1000 && u < units.count - 1 {
      v /= 1000
      u += 1
    }
    return u == 0 ? "\(n) B" : String(format: v >= 100 ? "%.0f %@" : v >= 10 ? "%.1f %@" : "%.2f %@", v, units[u])
  }

  /// A count with thousands separators: 266,610.
  public static func count(_ n: Int) -> String {
    let digits = String(abs(n))
    var out = ""
    for (i, ch) in digits.enumerated() {
      if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
      out.append(ch)
    }
    return (n < 0 ? "-" : "") + out
  }

  /// Mean accuracy change under corruption over every corruption and severity: corrupted minus
  /// clean accuracy on the same inputs (negative = accuracy lost).
  public static func robustnessChange(_ r: RunRecord) -> Double? {
    guard let rob = r.robustness, !rob.isEmpty else { return nil }
    let changes = rob.map { $0.accuracy - ($0.cleanAccuracy ?? r.accuracy?.top1 ?? 0) }
    return changes.reduce(0, +) / Double(changes.count)
  }

  // MARK: - Tables

  /// One row per model: size, parameters, sparsity, MACs, latency, energy, CO2, accuracy, worst group,
  /// ECE, flips, robustness drop.
  public static func factsTable(_ records: [RunRecord]) -> ReportTable {
    let unit = records.allSatisfy { ($0.latency?.p99Milliseconds ?? 0) < 1 } ? "µs" : "ms"
    let columns = [
      "model", "size", "params", "sparsity", "MACs", "p50 \(unit)", "p99 \(unit)", "µJ/inf", "µg CO2e/inf", "energy",
      "accuracy", "worst group", "ECE", "flips", "corrupted Δ",
    ]
    // Latency in µs when every figure is below a millisecond (LeNet), else in ms.
    let micro = records.allSatisfy { ($0.latency?.p99Milliseconds ?? 0) < 1 }
    let scale = micro ? 1000.0 : 1
    let rows = records.map { r -> [String] in
      [
        r.label, bytes(r.model.sizeBytes), count(r.model.parameters), percent(r.model.sparsity),
        r.model.macs.map(count) ?? "—", number(r.latency.map { $0.p50Milliseconds * scale }),
        number(r.latency.map { $0.p99Milliseconds * scale }),
        number(r.energy.map { $0.joulesPerInference * 1e6 }),
        number(r.energy?.co2GramsPerInference.map { $0 * 1e6 }), r.energy?.provenance ?? "—",
        percent(r.accuracy?.top1 ?? r.fidelity?.probeAccuracy), percent(r.groups?.worstGroupAccuracy),
        number(r.calibration?.ece), percent(r.agreement?.flipRate), points(robustnessChange(r)),
      ]
    }
    var notes: [String] = []
    let provenances = Set(records.compactMap { $0.energy.map { "\($0.provenance): \($0.method)" } })
    notes += provenances.sorted().map { "Energy — \($0)." }
    if let grid = records.compactMap({ $0.energy?.gridGramsPerKWh }).first {
      notes.append("CO2 at \(formatNumber(grid)) g CO2e/kWh, PUE \(formatNumber(records.first?.energy?.pue ?? 1)).")
    }
    let cpus = Set(records.compactMap { $0.latency?.cpu })
    if !cpus.isEmpty { notes.append("Latency at batch 1 on \(cpus.sorted().joined(separator: "; ")).") }
    notes.append(
      "Flips: share of inputs whose top-1 differs from the dense model's; corrupted Δ: mean accuracy change "
        + "under the corruptions (corrupted minus clean, same inputs; negative = lost).")
    return ReportTable(title: "Models", columns: columns, rows: rows, notes: notes)
  }

  /// Per class: support, precision, recall, F1, and the dense model's recall where known.
  public static func perClassTable(_ r: RunRecord) -> ReportTable? {
    guard let classes = r.accuracy?.perClass, !classes.isEmpty else { return nil }
    let denseRecall = Dictionary(
      (r.dense?.perClass ?? []).map { ($0.label, $0.recall) }, uniquingKeysWith: { a, _ in a })
    let withDense = !denseRecall.isEmpty
    // Flips per class, when the groups are the classes.
    let flips =
      r.groups?.definition == "classes"
      ? Dictionary((r.agreement?.flipsByGroup ?? []).map { ($0.group, $0.flips) }, uniquingKeysWith: { a, _ in a }) : [:]
    var columns = ["class", "support", "precision", "recall", "F1"]
    if withDense { columns += ["dense recall", "change"] }
    if !flips.isEmpty { columns.append("flips") }
    let rows = classes.map { c -> [String] in
      let name = c.name ?? "\(c.label)"
      var row = [name, count(c.support), percent(c.precision), percent(c.recall), percent(c.f1)]
      if withDense {
        let d = denseRecall[c.label] ?? nil
        row += [percent(d), points(c.recall.flatMap { rc in d.map { rc - $0 } })]
      }
      if !flips.isEmpty { row.append(count(flips[name] ?? 0)) }
      return row
    }
    var notes: [String] = []
    if let g = r.groups, g.definition == "classes" {
      notes.append(
        "Worst class \(percent(g.worstGroupAccuracy)); largest gap \(points(g.largestGap).replacingOccurrences(of: "+", with: ""))"
          + (r.dense?.worstGroupAccuracy.map { "; dense worst class \(percent($0))" } ?? "") + ".")
    }
    return ReportTable(title: "\(r.label): per class", columns: columns, rows: rows, notes: notes)
  }

  /// Per-group table; nil when the groups are the classes (the per-class table holds the same).
  public static func groupTable(_ r: RunRecord) -> ReportTable? {
    guard let g = r.groups, g.definition != "classes" || r.accuracy?.perClass == nil else { return nil }
    let withDense = g.groups.contains { $0.denseAccuracy != nil }
    let flips = Dictionary((r.agreement?.flipsByGroup ?? []).map { ($0.group, $0.flips) }, uniquingKeysWith: { a, _ in a })
    var columns = ["group", "samples", "accuracy"]
    if withDense { columns += ["dense", "change"] }
    if !flips.isEmpty { columns.append("flips") }
    let rows = g.groups.map { x -> [String] in
      var row = [x.name, count(x.count), percent(x.accuracy)]
      if withDense { row += [percent(x.denseAccuracy), points(x.denseAccuracy.map { x.accuracy - $0 })] }
      if !flips.isEmpty { row.append(count(flips[x.name] ?? 0)) }
      return row
    }
    return ReportTable(
      title: "\(r.label): groups (\(g.definition))", columns: columns, rows: rows,
      notes: [
        "Worst group \(percent(g.worstGroupAccuracy)); largest gap \(points(g.largestGap).replacingOccurrences(of: "+", with: ""))"
          + (r.dense?.worstGroupAccuracy.map { "; dense worst group \(percent($0))" } ?? "") + "."
      ])
  }

  public static func robustnessTable(_ r: RunRecord) -> ReportTable? {
    guard let rob = r.robustness, !rob.isEmpty else { return nil }
    let withDense = rob.contains { $0.denseAccuracy != nil }
    var columns = ["corruption", "severity", "accuracy", "Δ"]
    if withDense { columns += ["dense", "dense Δ"] }
    let rows = rob.map { x -> [String] in
      var row = [
        x.corruption, "\(x.severity)", percent(x.accuracy), points(x.cleanAccuracy.map { x.accuracy - $0 }),
      ]
      if withDense {
        row += [percent(x.denseAccuracy), points(x.denseAccuracy.flatMap { d in x.denseCleanAccuracy.map { d - $0 } })]
      }
      return row
    }
    let n = rob.first?.sampleCount.map { " on \(count($0)) evenly spaced samples" } ?? ""
    return ReportTable(
      title: "\(r.label): robustness", columns: columns, rows: rows,
      notes: ["Seeded corruptions\(n); Δ = corrupted minus clean accuracy on the same samples."])
  }

  public static func flipsTable(_ r: RunRecord, limit: Int = 20) -> ReportTable? {
    guard let a = r.agreement, !a.exemplars.isEmpty else { return nil }
    let rows = a.exemplars.prefix(limit).map { e in
      ["\(e.index)", e.label.map(String.init) ?? "—", "\(e.dense)", "\(e.pruned)", e.group ?? "—"]
    }
    return ReportTable(
      title: "\(r.label): pruning-identified exemplars",
      columns: ["sample", "label", "dense says", "model says", "group"], rows: Array(rows),
      notes: [
        "\(count(a.exemplars.count)) listed of \(count(Int((a.flipRate * Double(a.sampleCount)).rounded()))) flips "
          + "(\(a.lost) right → wrong, \(a.gained) wrong → right); first \(min(limit, a.exemplars.count)) shown."
      ])
  }

  public static func calibrationTable(_ r: RunRecord) -> ReportTable? {
    guard let c = r.calibration else { return nil }
    let rows = c.bins.filter { $0.count > 0 }.map {
      ["\(formatNumber($0.lower))–\(formatNumber($0.upper))", count($0.count), percent($0.meanConfidence), percent($0.accuracy)]
    }
    return ReportTable(
      title: "\(r.label): reliability (ECE \(formatNumber(c.ece)))",
      columns: ["confidence bin", "samples", "mean confidence", "accuracy"], rows: rows)
  }

  /// What `prunekit eval` prints: the facts, per class, groups, robustness.
  public static func terminalTables(_ r: RunRecord) -> [ReportTable] {
    [factsTable([r]), perClassTable(r), groupTable(r), robustnessTable(r), flipsTable(r, limit: 10)]
      .compactMap { $0 }
  }
}

extension RunReport {
  // MARK: - Charts

  static func series(_ records: [RunRecord], _ point: (RunRecord) -> XYPlot.Point?) -> [XYPlot.Series] {
    var order: [String] = []
    var byMethod: [String: [XYPlot.Point]] = [:]
    for r in records {
      guard let p = point(r) else { continue }
      let method = r.recipe?.method ?? "models"
      if byMethod[method] == nil { order.append(method) }
      byMethod[method, default: []].append(p)
    }
    return order.map { XYPlot.Series(name: $0, points: byMethod[$0]!) }
  }

  static func accuracy(_ r: RunRecord) -> Double? { r.accuracy?.top1 ?? r.fidelity?.probeAccuracy }

  /// Accuracy (%) against sparsity (%), one line per method; the dense model at its sparsity where known.
  public static func accuracyVsSparsity(_ records: [RunRecord]) -> XYPlot? {
    var s = series(records) { r in accuracy(r).map { .init(x: 100 * r.model.sparsity, y: 100 * $0, label: r.label) } }
    // The dense reference, once per distinct dense path, at 0% sparsity unless a record of it is present.
    let denseRows = Dictionary(
      records.compactMap { r in r.dense.flatMap { d in d.accuracy.map { (d.path, $0) } } }, uniquingKeysWith: { a, _ in a })
    let shown = Set(records.map(\.model.path))
    let densePoints = denseRows.filter { !shown.contains($0.key) }.sorted { $0.key < $1.key }.map {
      XYPlot.Point(x: 0, y: 100 * $0.value, label: "dense")
    }
    if !densePoints.isEmpty { s.append(.init(name: "dense", points: densePoints, connect: false)) }
    guard s.contains(where: { !$0.points.isEmpty }) else { return nil }
    return XYPlot(title: "Accuracy vs sparsity", x: ("sparsity", "%"), y: ("accuracy", "%"), series: s)
  }

  /// Accuracy against a cost (energy, latency), with the Pareto front (lower cost, higher accuracy).
  public static func accuracyVsCost(
    _ records: [RunRecord], title: String, x: (label: String, unit: String), cost: (RunRecord) -> Double?
  ) -> XYPlot? {
    let s = series(records) { r in
      guard let c = cost(r), let a = accuracy(r) else { return nil }
      return .init(x: c, y: 100 * a, label: r.label)
    }.map { XYPlot.Series(name: $0.name, points: $0.points, connect: false) }
    guard s.reduce(0, { $0 + $1.points.count }) > 0 else { return nil }
    let values = s.flatMap(\.points).map(\.x).filter { $0 > 0 }
    // Log only when the costs span more than two decades, and then the axis says so.
    let log = (values.max() ?? 1) / max(values.min() ?? 1, 1e-300) > 100
    return XYPlot(title: title, x: x, y: ("accuracy", "%"), series: s, xLog: log, paretoFront: true)
  }

  /// Recall change per class, model minus dense, percentage points.
  public static func perClassChange(_ r: RunRecord) -> BarChart? {
    guard let classes = r.accuracy?.perClass, let dense = r.dense?.perClass else { return nil }
    let d = Dictionary(dense.map { ($0.label, $0.recall) }, uniquingKeysWith: { a, _ in a })
    let bars = classes.compactMap { c -> BarChart.Bar? in
      guard let rc = c.recall, let dr = d[c.label] ?? nil else { return nil }
      return .init(label: "class \(c.name ?? "\(c.label)")", value: 100 * (rc - dr), group: rc >= dr ? "gained" : "lost")
    }
    guard !bars.isEmpty else { return nil }
    return BarChart(
      title: "\(r.label): recall change per class vs dense", unit: "percentage points", bars: bars,
      axisLabel: "model − dense recall")
  }

  public static func perGroupChange(_ r: RunRecord) -> BarChart? {
    guard let g = r.groups, g.definition != "classes" else { return nil }
    let bars = g.groups.compactMap { x -> BarChart.Bar? in
      x.denseAccuracy.map {
        .init(label: x.name, value: 100 * (x.accuracy - $0), group: x.accuracy >= $0 ? "gained" : "lost")
      }
    }
    guard !bars.isEmpty else { return nil }
    return BarChart(
      title: "\(r.label): accuracy change per group vs dense (\(g.definition))", unit: "percentage points", bars: bars,
      axisLabel: "model − dense accuracy")
  }

  /// Mean accuracy under each corruption (over its severities), model and dense side by side.
  public static func robustnessChart(_ r: RunRecord) -> BarChart? {
    guard let rob = r.robustness, !rob.isEmpty else { return nil }
    var names: [String] = []
    for x in rob where !names.contains(x.corruption) { names.append(x.corruption) }
    var bars: [BarChart.Bar] = []
    for name in names {
      let rows = rob.filter { $0.corruption == name }
      bars.append(.init(label: "\(name) (\(r.label))", value: 100 * rows.map(\.accuracy).reduce(0, +) / Double(rows.count), group: "model"))
      let dense = rows.compactMap(\.denseAccuracy)
      if dense.count == rows.count {
        bars.append(.init(label: "\(name) (dense)", value: 100 * dense.reduce(0, +) / Double(dense.count), group: "dense"))
      }
    }
    return BarChart(
      title: "\(r.label): accuracy under corruption (mean over severities)", unit: "%", bars: bars,
      axisLabel: "accuracy")
  }

  public static func reliabilityPlot(_ r: RunRecord) -> XYPlot? {
    guard let c = r.calibration, c.bins.contains(where: { $0.count > 0 }) else { return nil }
    let points = c.bins.filter { $0.count > 0 }.map { XYPlot.Point(x: 100 * $0.meanConfidence, y: 100 * $0.accuracy) }
    return XYPlot(
      title: "\(r.label): reliability (ECE \(formatNumber(c.ece)))", x: ("mean confidence", "%"), y: ("accuracy", "%"),
      series: [
        .init(name: "model", points: points),
        .init(name: "perfectly calibrated", points: [.init(x: 0, y: 0), .init(x: 100, y: 100)]),
      ])
  }

  public static func latencyByOp(_ r: RunRecord) -> BarChart? {
    guard let shares = r.latency?.byKernel, !shares.isEmpty else { return nil }
    let micro = (shares.map(\.milliseconds).max() ?? 0) < 1
    return BarChart(
      title: "\(r.label): latency by op at batch 1", unit: micro ? "µs" : "ms",
      bars: shares.map { .init(label: $0.kernel, value: $0.milliseconds * (micro ? 1000 : 1)) },
      axisLabel: "time per inference")
  }

  // MARK: - The page

  /// The whole report of `records`.
  public static func document(_ records: [RunRecord], title: String = "PruneKit report", subtitle: String? = nil)
    -> ReportDocument
  {
    var sections: [ReportSection] = []
    sections.append(ReportSection(heading: "Models side by side", tables: [factsTable(records)]))
    var plots: [XYPlot] = []
    if let p = accuracyVsSparsity(records) { plots.append(p) }
    if let p = accuracyVsCost(
      records, title: "Energy vs accuracy", x: ("energy per inference", "µJ"),
      cost: { $0.energy.map { $0.joulesPerInference * 1e6 } })
    {
      plots.append(p)
    }
    let micro = records.allSatisfy { ($0.latency?.p50Milliseconds ?? 0) < 1 }
    if let p = accuracyVsCost(
      records, title: "Latency vs accuracy", x: ("latency p50, batch 1", micro ? "µs" : "ms"),
      cost: { $0.latency.map { $0.p50Milliseconds * (micro ? 1000 : 1) } })
    {
      plots.append(p)
    }
    if let p = fidelityVsLatency(records) { plots.append(p) }
    let plans = [predictionTable(records), predictionErrorTable(records)].compactMap { $0 }
    if !plans.isEmpty { sections.append(ReportSection(heading: "Hardware-aware plans", tables: plans)) }
    if !plots.isEmpty {
      sections.append(
        ReportSection(
          heading: "Trade-offs",
          paragraphs: [
            "Circled points joined by the dashed line are the Pareto front: no other model is both cheaper and more accurate."
          ], plots: plots))
    }
    for r in records {
      var tables = [perClassTable(r), groupTable(r), robustnessTable(r), flipsTable(r), calibrationTable(r)]
        .compactMap { $0 }
      if let f = r.fidelity {
        tables.insert(
          ReportTable(
            title: "\(r.label): embedding fidelity to the dense model", columns: ["texts", "mean cosine", "min cosine", "probe accuracy"],
            rows: [[count(f.count), formatNumber(f.mean), formatNumber(f.min), percent(f.probeAccuracy)]]), at: 0)
      }
      let charts = [perClassChange(r), perGroupChange(r), robustnessChart(r), latencyByOp(r)].compactMap { $0 }
      let plots = [reliabilityPlot(r)].compactMap { $0 }
      var paragraphs: [String] = []
      if let d = r.data { paragraphs.append("Data: \(d.source), \(d.split), \(count(d.sampleCount)) samples.") }
      if let m = r.recipe {
        paragraphs.append(
          "Recipe: \(m.method)" + (m.targetSparsity.map { ", target sparsity \(percent($0))" } ?? "")
            + (m.pattern.map { ", \($0)" } ?? "") + (m.finetune.map { ", fine-tuned \($0)" } ?? "") + ".")
      }
      paragraphs += r.notes ?? []
      sections.append(
        ReportSection(heading: r.label, paragraphs: paragraphs, tables: tables, charts: charts, plots: plots))
    }
    return ReportDocument(title: title, subtitle: subtitle, sections: sections)
  }
}
