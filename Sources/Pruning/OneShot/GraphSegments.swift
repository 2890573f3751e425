import ModelGraph
import Runtime
import TensorCore

/// One batch of calibration inputs: the graph inputs by name, and which token rows are real
/// (attention mask 1), in batch·sequence row-major order. Padding rows never enter any statistic.
public struct CalibrationBatch: Sendable {
  public var inputs: [String: Tensor]
  public var realTokens: [Bool]

  public init(inputs: [String: Tensor], realTokens: [Bool]) {
    self.inputs = inputs
    self.realTokens = realTokens
  }
}

/// The graph cut at the encoder layers' inputs into consecutive node ranges (the prefix up to layer
/// 0's input, then one range per layer), each run on its own by the Runtime executor. A segment reads
/// the graph inputs and values exported by earlier segments; it exports what later segments (or the
/// graph outputs) read. This is how the one-shot pruners run one layer at a time, prune it, and run
/// the pruned layer to produce the next layer's inputs.
struct GraphSegments {
  /// Node ranges: [0] the prefix, [i + 1] encoder layer i.
  let ranges: [Range<Int>]
  /// Per segment: values read from outside (graph inputs or earlier segments' exports), sorted.
  let imports: [[String]]
  /// Per segment: values it produces that later segments or the graph outputs read, sorted.
  let exports: [[String]]
  /// Per segment: the last segment that reads each imported value (to drop it after).
  let lastReader: [String: Int]

  init(graph: Graph, layers: [EncoderLayer]) throws {
    var producer: [String: Int] = [:]
    for (i, node) in graph.nodes.enumerated() { for o in node.outputs where !o.isEmpty { producer[o] = i } }
    let cuts = layers.map { producer[$0.input] ?? -1 }
    var ranges: [Range<Int>] = [0..<(cuts[0] + 1)]
    for i in 0..<layers.count {
      let end = i + 1 < layers.count ? cuts[i + 1] + 1 : graph.nodes.count
      ranges.append((cuts[i] + 1)..<end)
      for site in layers[i].linears where !ranges.last!.contains(site.nodeIndex) {
        throw PruningError.invalidArgument(
          what: "encoder layer \(i)", expected: "its Linear '\(site.node)' between its input and the next layer's",
          found: "node \(site.nodeIndex) outside \(ranges.last!)")
      }
    }
    let segmentOf: (Int) -> Int = { index in ranges.firstIndex { $0.contains(index) } ?? 0 }
    var imports: [[String]] = []
    var exports = [Set<String>](repeating: [], count: ranges.count)
    var lastReader: [String: Int] = [:]
    for (s, range) in ranges.enumerated() {
      var inside = Set<String>()
      var reads = Set<String>()
      for node in graph.nodes[range] {
        for name in node.inputs where !name.isEmpty && graph.initializers[name] == nil && !inside.contains(name) {
          reads.insert(name)
        }
        inside.formUnion(node.outputs)
      }
      for name in reads {
        lastReader[name] = s
        if let p = producer[name] { exports[segmentOf(p)].insert(name) }
      }
      imports.append(reads.sorted())
    }
    for output in graph.outputs {
      if let p = producer[output.name] { exports[segmentOf(p)].insert(output.name) }
      lastReader[output.name] = ranges.count
    }
    self.ranges = ranges
    self.imports = imports
    self.exports = exports.map { $0.sorted() }
    self.lastReader = lastReader
  }

  /// An executor for segment `s` of `graph` (current weights), whose outputs are its exports plus
  /// `observe` (values to read back, e.g. the inputs of its Linears).
  /// With `exporting` false only `observe` is produced, and nodes nothing observed depends on are
  /// left out (an observation run of a layer skips its down-projection and final LayerNorm).
  func executor(
    _ s: Int, of graph: Graph, dtypes: [String: DType], observe: [String], exporting: Bool = true
  ) throws -> Executor {
    var outputs = exporting ? exports[s] : []
    for name in observe where !outputs.contains(name) { outputs.append(name) }
    // Keep the nodes the outputs depend on (walking the segment backwards).
    var needed = Set(outputs)
    var nodes: [Node] = []
    for node in graph.nodes[ranges[s]].reversed() where node.outputs.contains(where: needed.contains) {
      nodes.append(node)
      needed.formUnion(node.inputs)
    }
    nodes.reverse()
    var used = Set<String>()
    for node in nodes { used.formUnion(node.inputs) }
    let names = graph.initializerOrder.filter { used.contains($0) }
    var initializers: [String: Tensor] = [:]
    for name in names { initializers[name] = graph.initializers[name] }
    let segment = Graph(
      name: "\(graph.name) segment \(s)", nodes: nodes, initializers: initializers, initializerOrder: names,
      inputs: imports[s].filter { used.contains($0) || outputs.contains($0) }.map { ValueInfo(name: $0, dtype: dtypes[$0] ?? .float32, shape: nil) },
      outputs: outputs.map { ValueInfo(name: $0, dtype: .float32, shape: nil) }, opsetVersion: graph.opsetVersion,
      metadata: graph.metadata)
    return try Executor(graph: segment)
  }

  /// Runs segment `s` on every batch's carried values; returns each batch's outputs and, unless this
  /// is an observation-only run, stores the exports in `carried` and drops values no later segment reads.
  func run(
    _ s: Int, of graph: Graph, carried: inout [[String: Tensor]], observe: [String], advance: Bool,
    onBatch: ((Int, [String: Tensor]) throws -> Void)? = nil
  ) throws {
    guard let first = carried.first else { return }
    var dtypes: [String: DType] = [:]
    for name in imports[s] {
      guard let t = first[name] else {
        throw PruningError.callbackFailed(
          what: "calibration run of segment \(s)", reason: "value '\(name)' was not supplied (a graph input?)")
      }
      dtypes[name] = t.dtype
    }
    let executor = try self.executor(s, of: graph, dtypes: dtypes, observe: observe, exporting: advance)
    for b in carried.indices {
      var inputs: [String: Tensor] = [:]
      for info in executor.requiredInputs { inputs[info.name] = carried[b][info.name] }
      let outputs = try executor.run(inputs)
      try onBatch?(b, outputs)
      guard advance else { continue }
      for name in exports[s] { carried[b][name] = outputs[name] }
      for name in imports[s] where (lastReader[name] ?? 0) <= s { carried[b][name] = nil }
    }
  }
}
