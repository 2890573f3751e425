import ModelGraph

/// How a model's weights are stored when it runs, for the energy model.
public enum WeightStorage: Codable, Sendable, Equatable, CustomStringConvertible {
  /// Every parameter fetched at its stored width (32-bit floats; 8 bits + scales for an int8 layer),
  /// zeros included (a dense kernel).
  case dense
  /// Only non-zero parameters, `valueBits` each, plus `indexBits` of position per non-zero
  /// (e.g. 5-bit relative indices as in Deep Compression, or 32-bit CSR column indices); only
  /// non-zero multiply-accumulates are performed.
  case sparse(valueBits: Int, indexBits: Int)

  public var description: String {
    switch self {
    case .dense: return "dense fp32"
    case .sparse(let v, let i): return "sparse: \(v)-bit values + \(i)-bit indices"
    }
  }
}

extension LayerTraffic {
  /// The traffic of one node from its measured costs. Activation bytes are Float32 words.
  public init(_ cost: NodeCost, storage: WeightStorage) {
    let words = { (bytes: Int) in bytes / 4 }
    switch storage {
    case .dense:
      // 32 bits for Float32 weights; an int8 layer's weight bytes (values + scales) over its values.
      let bits =
        cost.parameters == 0
        ? 32 : min(32, Int((Double(cost.weightBytes * 8) / Double(cost.parameters)).rounded(.up)))
      self.init(
        name: cost.node, macs: cost.macs, storedWeights: cost.parameters, bitsPerWeight: bits,
        activationReads: words(cost.activationBytesRead),
        activationWrites: words(cost.activationBytesWritten))
    case .sparse(let valueBits, let indexBits):
      self.init(
        name: cost.node, macs: cost.nonzeroMACs, storedWeights: cost.nonzeroParameters,
        bitsPerWeight: valueBits, indexBits: cost.nonzeroParameters * indexBits,
        activationReads: words(cost.activationBytesRead),
        activationWrites: words(cost.activationBytesWritten))
    }
  }
}

extension EnergyModel {
  /// Modelled energy of one run of the graph whose costs are given (divide by the batch size for
  /// one inference).
  public func run(_ cost: GraphCost, storage: WeightStorage) -> (layers: [LayerEnergy], total: EnergyFigure) {
    var result = inference(cost.nodes.map { LayerTraffic($0, storage: storage) })
    result.total.method += "; weights stored \(storage)"
    return result
  }
}
