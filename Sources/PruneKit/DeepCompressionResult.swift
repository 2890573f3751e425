import Compression
import Foundation
import Pruning
import Report

/// The outcome of `DeepCompressionRecipe.run`: sizes of the files written at each stage (bytes on
/// disk) and test errors, beside the published figures.
public struct DeepCompressionResult: Sendable {
  public var name: String
  public var denseBytes: Int
  public var prunedBytes: Int
  public var quantizedBytes: Int
  public var huffmanBytes: Int
  public var denseError: Double
  public var prunedError: Double
  /// After weight sharing, before centroid fine-tuning.
  public var sharedError: Double
  /// Of the final `.pkz`, decoded from disk.
  public var finalError: Double
  public var kept: [String: Double]
  public var rounds: [PruningRound]
  public var report: PKZReport
  /// The decoded file's graph equals the in-memory compressed graph, bit for bit.
  public var bitExact: Bool
  public var path: String

  public var ratio: Double { Double(denseBytes) / Double(max(huffmanBytes, 1)) }

  /// Han, Mao & Dally 2016, Table 1 (original and compressed size, ratio, top-1 error).
  public struct Published: Sendable {
    public var model: String
    public var originalKB: Double
    public var compressedKB: Double
    public var ratio: Double
    public var error: Double
    public var referenceError: Double
  }

  public static let published: [String: Published] = [
    "lenet300": Published(
      model: "LeNet-300-100", originalKB: 1070, compressedKB: 27, ratio: 40, error: 0.0158,
      referenceError: 0.0164),
    "lenet5": Published(
      model: "LeNet-5", originalKB: 1720, compressedKB: 44, ratio: 39, error: 0.0074, referenceError: 0.0080),
  ]

  /// The paper-format table: PruneKit's measured row beside the published one; the notes give every
  /// stage's test error, the kept fractions and whether the decoded file is bit-exact.
  public func table(published: Published?) -> ReportTable {
    func kb(_ bytes: Int) -> String { String(format: "%.1f KB", Double(bytes) / 1000) }
    var rows = [
      [
        "PruneKit (files on disk)", kb(denseBytes), kb(prunedBytes), kb(quantizedBytes), kb(huffmanBytes),
        String(format: "%.1fx", ratio), deepCompressionPercent(finalError),
      ]
    ]
    if let p = published {
      rows.append([
        "Han et al. 2016, Table 1", String(format: "%.0f KB", p.originalKB), "-", "-",
        String(format: "%.0f KB", p.compressedKB), String(format: "%.0fx", p.ratio), deepCompressionPercent(p.error),
      ])
    }
    let kept = self.kept.sorted { $0.key < $1.key }.map { "\($0.key) \(deepCompressionPercent($0.value))" }
    return ReportTable(
      columns: [published?.model ?? name, "original", "pruned", "quantized", "Huffman", "ratio", "test error"],
      rows: rows,
      notes: [
        "test error: dense \(deepCompressionPercent(denseError)), pruned \(deepCompressionPercent(prunedError)), "
          + "shared before fine-tuning \(deepCompressionPercent(sharedError)), final .pkz \(deepCompressionPercent(finalError))"
          + (published.map { " (paper's reference \(deepCompressionPercent($0.referenceError)))" } ?? ""),
        "kept: " + kept.joined(separator: ", "),
        "decoded .pkz equals the compressed model bit for bit: \(bitExact ? "yes" : "NO")",
      ])
  }
}
