import Foundation
import Report

/// A sweep's finished cells merged into one file (`prunekit sweep collect`): the spec, its hash and
/// every done cell's record in cell order. Equal cells give equal bytes (sorted keys, no timings).
public struct SweepResults: Codable, Sendable, Equatable {
  public static let schemaName = "prunekit.sweep.results"

  public var schema: String
  public var schemaVersion: Int
  public var specHash: String
  public var cellCount: Int
  public var spec: SweepSpec
  /// Cells not done (missing, failed, partial, corrupt, foreign), empty for a complete grid.
  public var notDone: [Int]
  public var cells: [RunRecord]

  /// Reads every done cell of `directory`; `allowMissing` false refuses an incomplete grid.
  public init(directory: SweepDirectory, allowMissing: Bool = false) throws {
    let file = try directory.requireStored()
    let status = try SweepStatus(directory: directory)
    guard allowMissing || status.notDone.isEmpty else {
      throw SweepError.incomplete(directory: directory.path, notDone: status.notDone, cellCount: file.cellCount)
    }
    schema = Self.schemaName
    schemaVersion = 1
    specHash = file.specHash
    cellCount = file.cellCount
    spec = file.spec
    notDone = status.notDone
    cells = try status.cells.filter { $0.state == .done }.map { try RunRecord.read(from: directory.cellPath($0.index)) }
  }

  public func encoded() throws -> Data { try SweepFile.encoder().encode(self) }

  /// One row per cell: the grid point and its headline metrics.
  public var table: ReportTable {
    func percent(_ x: Double?) -> String { x.map { String(format: "%.2f%%", 100 * $0) } ?? "–" }
    let rows = cells.map { r -> [String] in
      [
        "\(r.sweep?.cell ?? -1)", r.recipe?.method ?? "", r.recipe?.pattern ?? "",
        percent(r.recipe?.targetSparsity), percent(r.model.sparsity), percent(r.accuracy?.top1),
        percent(r.dense?.accuracy), percent(r.groups?.worstGroupAccuracy), percent(r.agreement?.flipRate),
        r.calibration.map { String(format: "%.4f", $0.ece) } ?? "–",
      ]
    }
    return ReportTable(
      title: "sweep \(specHash.prefix(12)): \(spec.model)",
      columns: [
        "cell", "method", "pattern", "target", "sparsity", "accuracy", "dense", "worst group", "flips", "ECE",
      ],
      rows: rows,
      notes: notDone.isEmpty ? [] : ["not done: \(SweepStatus.arrayList(notDone))"])
  }
}
