import ArgumentParser
import Foundation
import PruneKit

/// `prunekit inspect MODEL`: per-layer parameters, MACs, weight bytes and sparsity, and totals.
struct InspectCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "inspect",
    abstract: "Print a model's per-layer parameters, MACs, weight bytes and sparsity.")

  @Argument(
    help: "Model file (\((ModelFile.knownExtensions + ["pkz"]).map { ".\($0)" }.joined(separator: ", "))).")
  var model: String

  @Flag(help: "Print the full cost table as JSON.")
  var json = false

  @Option(parsing: .unconditional, help: "Size of the batch (axis 0 of symbolic inputs).")
  var batch = 1

  @Option(name: .customLong("dim"), help: "Size of a named symbolic dimension, e.g. --dim sequence=128.")
  var dims: [String] = []

  @Flag(help: "List every node, not only those with parameters or MACs.")
  var all = false

  @Flag(
    help: """
      Also choose each linear layer's / 1×1 conv's kernel as `run` would (measured at --batch on seeded \
      inputs, cached per CPU) and print the choice with the measured alternatives.
      """)
  var kernels = false

  func validate() throws {
    try OptionCheck.int(batch, "--batch", in: 1...OptionCheck.maxSize)
    _ = try Self.sizes(dims)
  }

  /// "sequence=128" → ["sequence": 128]; sizes in 1...OptionCheck.maxSize.
  static func sizes(_ dims: [String]) throws -> [String: Int] {
    var sizes: [String: Int] = [:]
    for d in dims {
      let parts = d.split(separator: "=", omittingEmptySubsequences: false)
      guard parts.count == 2, !parts[0].isEmpty, let n = Int(parts[1]) else {
        throw ValidationError("--dim \(d): expected NAME=SIZE, e.g. sequence=128")
      }
      guard (1...OptionCheck.maxSize).contains(n) else {
        throw ValidationError("--dim \(d): expected a size in 1...\(OptionCheck.maxSize)")
      }
      sizes[String(parts[0])] = n
    }
    return sizes
  }

  func run() throws {
    let sizes = try Self.sizes(dims)
    let graph = try ModelFile.loadAny(model)
    let costs = try graph.costs(inputShapes: graph.inputShapes(batch: batch, sizes: sizes))
    if json {
      print(String(decoding: try JSONEncoder.pretty.encode(costs), as: UTF8.self))
      return
    }
    print(Self.table(costs, graph: graph, all: all))
    if kernels { try printKernels(graph, shapes: graph.inputShapes(batch: batch, sizes: sizes)) }
  }

  /// The kernel `SparseKernelSelector` picks per layer at these shapes, and what each candidate measured.
  func printKernels(_ graph: Graph, shapes: [String: [Int]]) throws {
    let sample = try ModelBenchmark.inputs(
      for: graph, batch: batch, sequence: (try? Self.sizes(dims))?.values.first ?? 64)
    let selector = SparseKernelSelector(graph: graph, inputShapes: sample.mapValues(\.shape), sample: sample)
    _ = try Executor(graph: graph, selector: selector)
    print("")
    print(
      "kernels (CPU \(KernelChoiceCache.cpuModel), \(ThreadPool.shared.threadCount) threads; seeded inputs \(sample.mapValues(\.shape)))"
    )
    for c in selector.choices {
      let timed = c.seconds.sorted { $0.value < $1.value }.map {
        String(format: "%@ %.1f µs", $0.key, $0.value * 1e6)
      }
      let detail = c.fromCache ? "cached" : timed.isEmpty ? "not measured" : timed.joined(separator: ", ")
      print(
        "  \(c.node)  \(c.shape)  \(String(format: "%.1f%%", c.sparsity * 100)) zeros → \(c.kernel), \(c.weightBytes) B  [\(detail)]"
      )
    }
  }

  static func table(_ costs: GraphCost, graph: Graph, all: Bool) -> String {
    var lines: [String] = []
    let inputs = costs.inputShapes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
    lines.append(
      "\(graph.name): \(graph.nodes.count) nodes, opset \(graph.opsetVersion); inputs \(inputs.joined(separator: ", "))"
    )
    let header = ["node", "op", "output", "params", "MACs", "weight bytes", "sparsity"]
    var rows: [[String]] = []
    for n in costs.nodes where all || n.parameters > 0 || n.macs > 0 {
      rows.append([
        n.node, n.opType, n.outputShapes.first.map { "\($0)" } ?? "-", group(n.parameters), group(n.macs),
        group(n.weightBytes), percent(n.sparsity),
      ])
    }
    let t = costs.totals
    rows.append([
      "total", "", "", group(t.parameters), group(t.macs), group(t.weightBytes), percent(t.sparsity),
    ])
    let widths = header.indices.map { c in ([header] + rows).map { $0[c].count }.max() ?? 0 }
    func format(_ row: [String]) -> String {
      row.enumerated().map { c, s in
        let pad = String(repeating: " ", count: widths[c] - s.count)
        return c < 3 ? s + pad : pad + s
      }.joined(separator: "  ")
    }
    lines.append(format(header))
    lines.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
    for (i, row) in rows.enumerated() {
      if i == rows.count - 1 {
        lines.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
      }
      lines.append(format(row))
    }
    lines.append(
      "FLOPs \(group(t.flops)); activations read \(group(t.activationBytesRead)) B, written \(group(t.activationBytesWritten)) B; non-zero MACs \(group(t.nonzeroMACs))"
    )
    return lines.joined(separator: "\n")
  }

  /// 1234567 → "1,234,567".
  static func group(_ n: Int) -> String {
    let digits = String(n.magnitude)
    var out = ""
    for (i, ch) in digits.enumerated() {
      if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
      out.append(ch)
    }
    return (n < 0 ? "-" : "") + out
  }

  static func percent(_ x: Double) -> String { String(format: "%.1f%%", x * 100) }
}
