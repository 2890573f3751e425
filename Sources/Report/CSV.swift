/// CSV per RFC 4180: fields with comma, quote or newline are quoted, quotes doubled.
public func csv(columns: [String], rows: [[String]]) -> String {
  func field(_ text: String) -> String {
    guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
    return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
  }
  return ([columns] + rows).map { $0.map(field).joined(separator: ",") }.joined(separator: "\n") + "\n"
}

/// One row of CodeCarbon's `emissions.csv`, plus PruneKit's `provenance`, `method`, `low`, `high`
/// (energy band, kWh). Units follow CodeCarbon: duration s, emissions kg CO2e, energy kWh, power W.
public struct EmissionsRecord: Codable, Sendable, Equatable {
  public static let codeCarbonColumns = [
    "timestamp", "project_name", "run_id", "duration", "emissions", "emissions_rate", "cpu_power",
    "gpu_power", "ram_power", "cpu_energy", "gpu_energy", "ram_energy", "energy_consumed",
    "country_name", "country_iso_code", "region", "cloud_provider", "cloud_region", "os",
    "python_version", "codecarbon_version", "cpu_count", "cpu_model", "gpu_count", "gpu_model",
    "longitude", "latitude", "ram_total_size", "tracking_mode", "on_cloud", "pue",
  ]
  public static let columns = codeCarbonColumns + ["provenance", "method", "low", "high"]

  /// Values by column name; absent columns are written empty, as CodeCarbon does.
  public var values: [String: String]

  public init(values: [String: String]) {
    precondition(
      values.keys.allSatisfy { Self.columns.contains($0) },
      "EmissionsRecord: unknown columns \(values.keys.filter { !Self.columns.contains($0) })")
    self.values = values
  }

  public var row: [String] { Self.columns.map { values[$0] ?? "" } }

  public static func csv(_ records: [EmissionsRecord]) -> String {
    Report.csv(columns: columns, rows: records.map(\.row))
  }
}
