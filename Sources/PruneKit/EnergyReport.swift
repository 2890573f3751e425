import Foundation

/// Turns energy results into report documents and CodeCarbon-style CSV rows.
public enum EnergyReporting {
  /// Ratios first/second of each figure computed with the same method (measured or estimated
  /// central value, and each modelled storage both have).
  public static func ratios(_ a: ModelEnergy, _ b: ModelEnergy) -> [String: Double] {
    var ratios: [String: Double] = [:]
    if a.perInference.provenance == b.perInference.provenance, b.perInference.joules > 0 {
      ratios["\(a.perInference.provenance.rawValue) (run)"] = a.perInference.joules / b.perInference.joules
    }
    // Dense storage for the first model vs the cheapest storage of the second.
    if let dense = a.modelled[WeightStorage.dense.description],
      let best = b.modelled.values.min(by: { $0.joules < $1.joules }), best.joules > 0
    {
      ratios["modelled (dense vs best storage)"] = dense.joules / best.joules
    }
    return ratios
  }

  /// first/second of the run figure, repeat by repeat (the repeats alternate between the models, so
  /// repeat i of each ran side by side); nil when the provenances differ.
  public static func runRatio(_ a: ModelEnergy, _ b: ModelEnergy) -> Spread? {
    guard a.perInference.provenance == b.perInference.provenance else { return nil }
    let pairs = zip(a.repeats.samples, b.repeats.samples).filter { $0.1 > 0 }
    return pairs.isEmpty ? nil : Spread(pairs.map { $0 / $1 })
  }

  /// "1.64× (p10–p90 1.52–1.71)" or, when the interval holds 1, "… no measurable difference".
  public static func describe(_ ratio: Spread) -> String {
    "\(formatNumber(ratio.median))× (p10–p90 \(formatNumber(ratio.p10))–\(formatNumber(ratio.p90)), "
      + "\(ratio.samples.count) repeats)" + (ratio.spansOne ? ": no measurable difference" : "")
  }

  public static func document(_ results: [ModelEnergy]) -> ReportDocument {
    func microjoules(_ j: Double) -> String { formatNumber(j * 1e6) }
    var rows: [[String]] = []
    for r in results {
      rows.append([
        r.model, "run", r.perInference.provenance.rawValue, microjoules(r.perInference.joules),
        "\(microjoules(r.perInference.low))–\(microjoules(r.perInference.high))",
        "\(microjoules(r.repeats.median)) (\(microjoules(r.repeats.p10))–\(microjoules(r.repeats.p90)))",
        formatNumber(r.perInference.joules * 1e6 / 3.6e6), formatNumber(r.carbonPerMillion.grams),
      ])
      for (storage, figure) in r.modelled.sorted(by: { $0.key < $1.key }) {
        let carbon = try? CarbonEstimate(
          energy: figure.scaled(by: 1e6), intensity: r.carbonPerMillion.intensity, pue: r.carbonPerMillion.pue
        )
        rows.append([
          r.model, storage, "modelled", microjoules(figure.joules), "", "",
          formatNumber(figure.joules * 1e6 / 3.6e6), carbon.map { formatNumber($0.grams) } ?? "",
        ])
      }
    }
    let table = ReportTable(
      title: "Energy per inference",
      columns: [
        "model", "figure", "provenance", "µJ/inference", "band µJ", "repeats µJ median (p10–p90)", "kWh per 10⁶",
        "g CO2e per 10⁶",
      ],
      rows: rows,
      notes: results.first.map { r in
        [
          "Grid: \(r.carbonPerMillion.intensity.name) \(formatNumber(r.carbonPerMillion.intensity.gramsPerKWh)) g/kWh"
            + " (\(r.carbonPerMillion.intensity.year)), PUE \(r.carbonPerMillion.pue).",
          "Run figure: \(r.perInference.method); \(r.repeats.samples.count) repeats, models alternating.",
        ] + Array(Set(results.flatMap { $0.perInference.notes })).sorted() + results.flatMap(\.notes)
          + Array(Set(results.flatMap { $0.modelled.values.map(\.method) })).sorted()
      } ?? [])
    let shape = ReportTable(
      title: "What runs",
      columns: [
        "model", "parameters", "non-zero", "MACs/inference", "non-zero MACs", "latency ms/batch (median)",
      ],
      rows: results.map {
        [
          $0.model, "\($0.parameters)", "\($0.nonzeroParameters)", "\($0.macs)", "\($0.nonzeroMACs)",
          formatNumber($0.latency.median * 1e3),
        ]
      })
    var tables = [table, shape]
    if results.count == 2 {
      let ratio = ratios(results[0], results[1])
      let spread = runRatio(results[0], results[1])
      tables.append(
        ReportTable(
          title: "\(results[0].model) / \(results[1].model)", columns: ["method", "energy ratio", "over repeats"],
          rows: ratio.sorted { $0.key < $1.key }.map {
            [$0.key, formatNumber($0.value) + "×", $0.key.hasSuffix("(run)") ? spread.map(describe) ?? "" : ""]
          }))
    }
    let chart = BarChart(
      title: "Energy per inference", unit: "µJ",
      bars: results.flatMap { r in
        [BarChart.Bar(label: "\(r.model) run", value: r.perInference.joules * 1e6, group: "run")]
          + r.modelled.sorted { $0.key < $1.key }.map {
            BarChart.Bar(label: "\(r.model) \($0.key)", value: $0.value.joules * 1e6, group: "modelled")
          }
      }, axisLabel: "energy per inference")
    return ReportDocument(
      title: "PruneKit energy report",
      sections: [ReportSection(heading: "Energy and carbon", tables: tables, charts: [chart])])
  }

  /// One CodeCarbon `emissions.csv` row per model run (the timed region).
  /// `runID` is one UUID per invocation, as CodeCarbon gives each tracker run; the model is named in
  /// `project_name` ("prunekit MODEL").
  public static func emissionsRecords(
    _ results: [ModelEnergy], date: Date = Date(), runID: String = UUID().uuidString.lowercased()
  ) -> [EmissionsRecord] {
    let timestamp = ISO8601DateFormatter().string(from: date)
    return results.map { r in
      let figure = r.region
      let seconds = r.latency.samples.reduce(0, +)
      let domain = { (test: (String) -> Bool) in figure.domains.filter { test($0.key) }.values.reduce(0, +) }
      let gpu = domain { $0.hasPrefix("gpu") }
      let ram = domain { $0 == "ram" || $0.hasPrefix("dram") }
      let cpu = figure.domains.isEmpty ? figure.joules : figure.joules - gpu - ram
      let kWh = { (j: Double) in String(j / 3.6e6) }
      let kg =
        figure.joules / 3.6e6 * r.carbonPerMillion.intensity.gramsPerKWh * r.carbonPerMillion.pue / 1000
      return EmissionsRecord(values: [
        "timestamp": timestamp, "project_name": "prunekit \(r.model)", "run_id": runID, "duration": String(seconds),
        "emissions": String(kg), "emissions_rate": String(seconds > 0 ? kg / seconds : 0),
        "cpu_power": String(seconds > 0 ? cpu / seconds : 0),
        "gpu_power": String(seconds > 0 ? gpu / seconds : 0),
        "ram_power": String(seconds > 0 ? ram / seconds : 0), "cpu_energy": kWh(cpu), "gpu_energy": kWh(gpu),
        "ram_energy": kWh(ram), "energy_consumed": kWh(figure.joules),
        "country_name": r.carbonPerMillion.intensity.name,
        "country_iso_code": r.carbonPerMillion.intensity.code,
        "os": ProcessInfo.processInfo.operatingSystemVersionString,
        "cpu_count": String(ProcessInfo.processInfo.activeProcessorCount), "tracking_mode": "process",
        "cpu_model": cpuModelName() ?? "", "ram_total_size": ramTotalGB().map { String($0) } ?? "",
        "on_cloud": "N", "pue": String(r.carbonPerMillion.pue), "provenance": figure.provenance.rawValue,
        "method": figure.method, "low": kWh(figure.low), "high": kWh(figure.high),
      ])
    }
  }
}

/// `model name` from /proc/cpuinfo, when readable.
func cpuModelName() -> String? {
  guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
  return text.split(separator: "\n").first { $0.hasPrefix("model name") }
    .flatMap { $0.split(separator: ":", maxSplits: 1).last }
    .map { $0.trimmingCharacters(in: .whitespaces) }
}

/// MemTotal from /proc/meminfo, GB.
func ramTotalGB() -> Double? {
  guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
    let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemTotal:") }),
    let kb = Double(line.split(separator: " ").dropFirst().first ?? "")
  else { return nil }
  return kb / 1024 / 1024
}
