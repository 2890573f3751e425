import Compression
import Foundation
import ModelGraph
import Runtime

extension ModelFile {
  /// `ModelFile.load`, plus `.pkz` files (decoded by Compression: quantized weights and masks
  /// restored), then checked (`Graph.checkShapes()`): every op known to the runtime and every
  /// weight's shape consistent with its node. The CLI's commands that run, measure or prune a
  /// model load it through this, so a `.pkz` runs directly and a contradictory file is refused
  /// before any work, with the file and node named.
  public static func loadAny(_ path: String) throws -> Graph {
    let graph = try loadUnchecked(path)
    do {
      try graph.checkShapes()
    } catch let error as ModelGraphError {
      throw ModelGraphError.invalidModel("\(path): \(error)")
    }
    return graph
  }

  /// For commands that carry a model through without running it (`convert`, `compress`): ops the
  /// runtime does not know are kept unchanged and reported as warnings; any other inconsistency
  /// (a weight contradicting its node) is still an error. Shapes after an unknown op are not checked.
  public static func loadForCopying(_ path: String) throws -> (graph: Graph, warnings: [String]) {
    let graph = try loadUnchecked(path)
    do {
      try graph.checkShapes()
    } catch ModelGraphError.unsupportedOp(let node, let opType, let domain, let opset) {
      let unknown = graph.nodes.filter { OpRegistry.standard[OpKey($0.opType, domain: $0.domain)] == nil }
      let names = (unknown.isEmpty ? [node] : unknown.prefix(5).map(\.name)).map { "'\($0)'" }
        .joined(separator: ", ")
      let domainText = domain.isEmpty ? "" : " in domain \(domain)"
      return (
        graph,
        [
          "\(path): op \(opType)\(domainText) (opset \(opset)) is not known to PruneKit; carried through "
            + "unchanged, shapes after it not checked (nodes: \(names))"
        ]
      )
    } catch let error as ModelGraphError {
      throw ModelGraphError.invalidModel("\(path): \(error)")
    }
    return (graph, [])
  }

  static func loadUnchecked(_ path: String) throws -> Graph {
    if (path as NSString).pathExtension.lowercased() == "pkz" { return try Graph(pkz: path) }
    return try load(path)
  }
}

extension ModelFile {
  /// `loadAny`, plus the k-means codebooks of a `.pkz`'s weight-shared layers (empty for other
  /// formats), for `SparseKernelSelector.Options.codebooks`: the sparse kernels then run on the
  /// 1-byte codes and the centroid table, as the file stores them.
  public static func loadWithCodebooks(_ path: String) throws -> (
    graph: Graph, codebooks: [String: WeightCodebook]
  ) {
    guard (path as NSString).pathExtension.lowercased() == "pkz" else { return (try loadAny(path), [:]) }
    let model = try readPKZ(path: path)
    do {
      try model.graph.checkShapes()
    } catch let error as ModelGraphError {
      throw ModelGraphError.invalidModel("\(path): \(error)")
    }
    var codebooks: [String: WeightCodebook] = [:]
    for layer in model.layers where layer.scheme == .kmeans && layer.codebook.count <= 256 {
      guard layer.symbols.allSatisfy({ $0 < UInt32(layer.codebook.count) }) else { continue }
      codebooks[layer.name] = WeightCodebook(
        positions: layer.positions, codes: layer.symbols.map { UInt8($0) }, table: layer.codebook)
    }
    return (model.graph, codebooks)
  }
}
