/// The memory traffic and arithmetic of one layer for one inference: what the energy model needs.
/// Dense layers have `storedWeights` = parameter count and no index bits; sparse formats count
/// only the stored (non-zero) values and add their index bits.
public struct LayerTraffic: Codable, Sendable, Equatable {
  public var name: String
  /// Multiply-accumulates actually performed (non-zero weights × positions for sparse kernels).
  public var macs: Int
  /// Weight values stored and fetched.
  public var storedWeights: Int
  /// Bits per stored weight value (32 for Float32, 5 for a 5-bit codebook index, …).
  public var bitsPerWeight: Int
  /// Bits of sparse indices (relative gaps, CSR column indices, …) fetched with the weights.
  public var indexBits: Int
  /// Activation elements read and written (Float32).
  public var activationReads: Int
  public var activationWrites: Int

  public init(
    name: String, macs: Int, storedWeights: Int, bitsPerWeight: Int = 32, indexBits: Int = 0,
    activationReads: Int, activationWrites: Int
  ) {
    self.name = name
    self.macs = macs
    self.storedWeights = storedWeights
    self.bitsPerWeight = bitsPerWeight
    self.indexBits = indexBits
    self.activationReads = activationReads
    self.activationWrites = activationWrites
  }
}

/// Where weights live during inference: DRAM (too big for the cache, Han et al.'s case) or SRAM.
public enum WeightMemory: String, Codable, Sendable, CaseIterable {
  case dram, sram
}

/// Modelled energy of one layer, joules, split by where it goes.
public struct LayerEnergy: Codable, Sendable, Equatable {
  public var name: String
  public var arithmetic: Double
  public var weightAccess: Double
  public var activationAccess: Double
  public var total: Double { arithmetic + weightAccess + activationAccess }
}

/// Energy of one inference from operation and byte counts:
/// E = MACs·(E_mult + E_add) + weight bits/32 · E_weight-memory + activation accesses · E_SRAM.
/// Activations are assumed to stay on chip (SRAM); weights come from `weightsFrom`.
public struct EnergyModel: Sendable {
  public var profile: HardwareProfile
  public var weightsFrom: WeightMemory

  public init(profile: HardwareProfile, weightsFrom: WeightMemory = .dram) {
    self.profile = profile
    self.weightsFrom = weightsFrom
  }

  public func layer(_ traffic: LayerTraffic) -> LayerEnergy {
    let pj = 1e-12
    let mac = profile.value("fp32Mult") + profile.value("fp32Add")
    let weightWords =
      Double(traffic.storedWeights * traffic.bitsPerWeight + traffic.indexBits) / 32
    let weightCost = profile.value(weightsFrom == .dram ? "dram32" : "sram32")
    return LayerEnergy(
      name: traffic.name, arithmetic: Double(traffic.macs) * mac * pj,
      weightAccess: weightWords * weightCost * pj,
      activationAccess: Double(traffic.activationReads + traffic.activationWrites)
        * profile.value("sram32") * pj)
  }

  /// Per-layer energies and the labelled total for one inference.
  public func inference(_ layers: [LayerTraffic]) -> (layers: [LayerEnergy], total: EnergyFigure) {
    let energies = layers.map(layer)
    let total = energies.reduce(0) { $0 + $1.total }
    let figure = EnergyFigure(
      joules: total, provenance: .modelled,
      method: "MACs × (fp32 mult + add) + weight words × \(weightsFrom.rawValue) access"
        + " + activation words × SRAM access (\(profile.name))",
      constants: profile.picojoules.mapValues { "\($0) pJ" }.merging(["source": profile.source]) { a, _ in a
      },
      notes: ["Modelled from operation and byte counts, not measured; activations assumed on chip."],
      domains: [
        "arithmetic": energies.reduce(0) { $0 + $1.arithmetic },
        "weights": energies.reduce(0) { $0 + $1.weightAccess },
        "activations": energies.reduce(0) { $0 + $1.activationAccess },
      ])
    return (energies, figure)
  }
}
