import ModelGraph

/// How a model's weights are stored when it runs, for the energy model.
public enum WeightStorage: Codable, Sendable, Equatable, CustomStringConvertible {
  /// Every parameter fetched as a 32-bit float, zeros included (a dense kernel).
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
      self.init(
        name: cost.node, macs: cost.macs, storedWeights: cost.parameters, bitsPerWeight: 32,
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
