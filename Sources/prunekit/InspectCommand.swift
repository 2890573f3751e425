import ArgumentParser
import Foundation
import PruneKit

/// `prunekit inspect MODEL`: per-layer parameters, MACs, weight bytes and sparsity, and totals.
struct InspectCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "inspect",
    abstract: "Print a model's per-layer parameters, MACs, weight bytes and sparsity.",
    usage: "prunekit inspect <model> [--batch <n>] [--sequence <n>] [--dim <name=size>] [<options>]",
    discussion: """
      Costs are computed by shape inference at --batch (the first axis of every symbolic input) and \
      --sequence (every other symbolic axis: the same default, 64, as energy and bench, so MACs agree \
      between the commands); --dim NAME=SIZE sets one named symbolic dimension. A .pkz file also \
      gets its compressed sizes per layer: codebook, index and value bytes on disk beside the dense \
      Float32 bytes.

      Examples:
        prunekit inspect model.onnx
        prunekit inspect minilm.onnx --batch 32 --sequence 128
        prunekit inspect demo-output/lenet300.pkz --json
      """)

  @Argument(
    help: "Model file (\((ModelFile.knownExtensions + ["pkz"]).map { ".\($0)" }.joined(separator: ", "))).")
  var model: String

  @OptionGroup var format: JSONOption
  var json: Bool { format.json }
  @OptionGroup var threads: ThreadsOption

  @Option(parsing: .unconditional, help: "Size of the batch (axis 0 of symbolic inputs).")
  var batch = 1

  @Option(parsing: .unconditional, help: "Size of every other symbolic dimension (e.g. the sequence length).")
  var sequence = 64

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
    try OptionCheck.int(sequence, "--sequence", in: 1...OptionCheck.maxSize)
    _ = try Self.sizes(dims)
    if json && kernels { throw ValidationError("--kernels and --json: the kernel list is printed as text only") }
  }

  /// Every symbolic dimension of `graph`'s inputs: --batch on axis 0, --sequence elsewhere, --dim by
  /// name. A --dim naming no symbolic dimension of the model is an error (it would do nothing).
  static func symbolicSizes(_ graph: Graph, path: String, batch: Int, sequence: Int, dims: [String: Int]) throws
    -> [String: Int]
  {
    var sizes = graph.symbolicSizes(batch: batch, sequence: sequence)
    for (name, size) in dims {
      guard sizes[name] != nil else {
        let known = sizes.keys.sorted().map { "'\($0)'" }.joined(separator: ", ")
        throw ValidationError(
          "--dim \(name)=\(size): \(path) has no symbolic dimension '\(name)' "
            + "(expected one of: \(known.isEmpty ? "none, every input size is fixed" : known))")
      }
      sizes[name] = size
    }
    return sizes
  }

  /// What `--json` prints: the costs, and for a .pkz where its bytes went.
  struct Output: Encodable {
    let costs: GraphCost
    let compressed: CompressedSizes?
  }

  /// A .pkz's bytes by layer (`PKZReport` in numbers).
  struct CompressedSizes: Encodable {
    struct Layer: Encodable {
      let name: String
      let shape: [Int]
      let scheme: String
      let codebookBits: Int
      let indexCoding: String
      let indexBits: Int
      let entries: Int
      let elements: Int
      let codebookBytes: Int
      let indexBytes: Int
      let valueBytes: Int
      let bytesOnDisk: Int
      let denseBytes: Int
    }
    let layers: [Layer]
    let graphBytes: Int
    let framingBytes: Int
    let fileBytes: Int
    let denseParameterBytes: Int

    init(_ r: PKZReport) {
      layers = r.layers.map {
        Layer(
          name: $0.name, shape: $0.shape, scheme: "\($0.scheme)", codebookBits: $0.bits,
          indexCoding: "\($0.indexCoding)", indexBits: $0.indexBits, entries: $0.entries, elements: $0.elements,
          codebookBytes: $0.codebookBytes, indexBytes: $0.indexBytes, valueBytes: $0.valueBytes,
          bytesOnDisk: $0.totalBytes, denseBytes: $0.denseBytes)
      }
      graphBytes = r.graphBytes
      framingBytes = r.framingBytes
      fileBytes = r.totalBytes
      denseParameterBytes = r.denseParameterBytes
    }
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
    var graph: Graph
    var report: PKZReport? = nil
    if (model as NSString).pathExtension.lowercased() == "pkz" {
      let read = try readPKZWithReport(path: model)
      (graph, report) = (read.model.graph, read.report)
      do { try graph.checkShapes() } catch let error as ModelGraphError {
        throw ModelGraphError.invalidModel("\(model): \(error)")
      }
    } else {
      graph = try ModelFile.loadAny(model)
    }
    let sizes = try Self.symbolicSizes(graph, path: model, batch: batch, sequence: sequence, dims: Self.sizes(dims))
    let shapes = graph.inputShapes(batch: batch, sizes: sizes)
    let costs = try graph.costs(inputShapes: shapes)
    if json {
      return try JSONOutput.print(Output(costs: costs, compressed: report.map(CompressedSizes.init)), command: "inspect")
    }
    print(Self.table(costs, graph: graph, all: all))
    if let report {
      print("")
      print("compressed (\(model), bytes on disk per layer; dense = Float32):")
      print(report.reportTable().text(rule: true), terminator: "")
    }
    if kernels { try printKernels(graph, shapes: shapes) }
  }

  /// The kernel `SparseKernelSelector` picks per layer at these shapes, and what each candidate measured.
  func printKernels(_ graph: Graph, shapes: [String: [Int]]) throws {
    let sample = try ModelBenchmark.inputs(for: graph, batch: batch, sequence: sequence)
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
    lines.append(ReportTable(columns: header, rows: rows).text(rule: true).trimmingCharacters(in: .newlines))
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
