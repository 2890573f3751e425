import Foundation

/// Options of an energy run (`prunekit energy`).
public struct EnergyRunOptions: Sendable {
  public var batch = 1
  /// Size used for symbolic dimensions other than the first (e.g. sequence length).
  public var sequence = 64
  /// Runs per repeat (at least; more are made until a repeat lasts `minSeconds`).
  public var runs = 20
  /// Runs are added until each repeat's timed region lasts at least this long (seconds).
  public var minSeconds = 1.0
  /// Independent measurements (each its own energy session); with two models they alternate, so a
  /// slow spell of the machine hits both. The spread over repeats is reported.
  public var repeats = 5
  public var warmup = 2
  public var region: String?
  public var pue = PUE.none
  public var profile = "horowitz-45nm"
  public var weightsFrom = WeightMemory.dram
  /// Index bits per non-zero for the sparse storage model (Deep Compression: 5 for FC, 4 for conv).
  public var indexBits = 5
  public var seed: UInt64 = 1
  public var probe = EnergyProbe.system()

  public init() {}
}

/// Median and 10th–90th percentiles of repeated measurements (linear interpolation between ranks).
public struct Spread: Codable, Sendable, Equatable {
  public var median: Double
  public var p10: Double
  public var p90: Double
  public var samples: [Double]

  public init(_ samples: [Double]) {
    self.samples = samples
    let sorted = samples.sorted()
    func percentile(_ p: Double) -> Double {
      guard !sorted.isEmpty else { return 0 }
      let rank = p * Double(sorted.count - 1)
      let (lo, hi) = (Int(rank.rounded(.down)), Int(rank.rounded(.up)))
      return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - Double(lo))
    }
    (median, p10, p90) = (percentile(0.5), percentile(0.1), percentile(0.9))
  }

  /// For a ratio: the p10–p90 interval holds 1, so the repeats cannot tell the two apart.
  public var spansOne: Bool { p10 <= 1 && 1 <= p90 }
}

/// Energy of one model: measured or estimated around real runs, and modelled from its counts.
public struct ModelEnergy: Codable, Sendable {
  public var model: String
  public var batch: Int
  /// Timed runs over all repeats.
  public var runs: Int
  /// Joules per inference of each repeat (same provenance as `perInference`), and their spread.
  public var repeats: Spread
  /// Caveats about what is and is not shown (e.g. a sparse storage model costlier than dense).
  public var notes: [String] = []
  /// Seconds per batch.
  public var latency: LatencyStats
  /// Per inference (one sample), measured or estimated.
  public var perInference: EnergyFigure
  /// The whole timed region (all runs), for the emissions CSV.
  public var region: EnergyFigure
  /// Meters not used, with their reasons.
  public var skippedMeters: [String]
  /// Modelled per inference, by weight storage ("dense fp32", "sparse: …").
  public var modelled: [String: EnergyFigure]
  public var carbonPerMillion: CarbonEstimate
  public var parameters: Int
  public var nonzeroParameters: Int
  public var macs: Int
  public var nonzeroMACs: Int
}

/// Synthesises seeded inputs for every graph input: floats uniform in [0, 1), integers 0 except
/// `*mask*` inputs (1); the first symbolic dimension is `batch`, later ones `sequence`.
public func syntheticInputs(for graph: Graph, batch: Int, sequence: Int, seed: UInt64) throws -> [String:
  Tensor]
{
  var inputs: [String: Tensor] = [:]
  for (index, info) in graph.inputs.enumerated() where graph.initializers[info.name] == nil {
    guard let dims = info.shape else {
      throw ModelGraphError.invalidModel(
        "graph input '\(info.name)' has no declared shape; cannot synthesise it")
    }
    var shape: [Int] = []
    for (axis, dim) in dims.enumerated() {
      switch dim {
      case .fixed(let n): shape.append(n)
      case .symbolic: shape.append(axis == 0 ? batch : sequence)
      }
    }
    if info.dtype.isFloatingPoint {
      inputs[info.name] = Tensor.uniform(shape, seed: seed &+ UInt64(index)).converted(to: info.dtype)
    } else {
      let fill: Int64 = info.name.lowercased().contains("mask") ? 1 : 0
      inputs[info.name] = Tensor(
        shape: shape, int64s: [Int64](repeating: fill, count: Tensor.elementCount(shape))
      )
      .converted(to: info.dtype)
    }
  }
  return inputs
}

/// Runs `graph` inside `options.repeats` energy sessions and models its energy.
public func measureEnergy(of graph: Graph, named name: String, options: EnergyRunOptions) throws
  -> ModelEnergy
{
  try measureEnergy(of: [(name, graph)], options: options)[0]
}

/// Measures each model in `options.repeats` energy sessions, alternating between the models
/// (A B A B …) so that drift of the machine hits all alike, and models their energy.
public func measureEnergy(of models: [(name: String, graph: Graph)], options: EnergyRunOptions) throws
  -> [ModelEnergy]
{
  guard options.batch > 0, options.runs > 0, options.sequence > 0, options.repeats > 0 else {
    throw EnergyError.invalidArgument(
      "batch, runs, sequence and repeats must be positive (got \(options.batch), \(options.runs), "
        + "\(options.sequence), \(options.repeats))")
  }
  let intensity = try CarbonIntensityTable.builtin().intensity(for: options.region)
  var prepared = try models.map { try EnergyRun(graph: $0.graph, options: options) }
  for _ in 0..<options.repeats {
    for i in prepared.indices { try prepared[i].measureOnce(options: options) }
  }
  return try zip(models, prepared).map { model, run in
    try run.result(named: model.name, graph: model.graph, options: options, intensity: intensity)
  }
}

/// One model's executor, inputs and the repeats measured so far.
struct EnergyRun {
  let executor: Executor
  let inputs: [String: Tensor]
  let runsPerRepeat: Int
  var regions: [EnergyFigure] = []
  var samples: [Double] = []
  var skipped: [String] = []

  init(graph: Graph, options: EnergyRunOptions) throws {
    inputs = try syntheticInputs(
      for: graph, batch: options.batch, sequence: options.sequence, seed: options.seed)
    // The kernels `prunekit run` and `bench` use: sparse layers get the kernel measured fastest.
    executor = try Executor(
      graph: graph,
      selector: SparseKernelSelector(graph: graph, inputShapes: inputs.mapValues(\.shape), sample: inputs))
    let (executor, inputs) = (executor, inputs)
    let warm = try LatencyStats.measure(warmup: max(0, options.warmup - 1), runs: 1) {
      _ = try executor.run(inputs)
    }
    runsPerRepeat = max(options.runs, Int((options.minSeconds / max(warm.min, 1e-7)).rounded(.up)))
  }

  mutating func measureOnce(options: EnergyRunOptions) throws {
    let session = try EnergySession(probe: options.probe, samplingInterval: 1.0)
    let (executor, inputs) = (executor, inputs)
    let latency = try LatencyStats.measure(warmup: 0, runs: runsPerRepeat) { _ = try executor.run(inputs) }
    guard let region = combine(try session.stop()) else {
      throw EnergyError.invalidArgument("energy session returned no figure")
    }
    regions.append(region)
    samples += latency.samples
    skipped = session.skipped
  }

  func result(named name: String, graph: Graph, options: EnergyRunOptions, intensity: GridIntensity) throws
    -> ModelEnergy
  {
    var region = regions[0]
    for r in regions.dropFirst() {
      region.joules += r.joules
      region.low += r.low
      region.high += r.high
      region.domains.merge(r.domains) { $0 + $1 }
    }
    let runs = runsPerRepeat * regions.count
    let perInference = region.scaled(by: 1 / Double(runs * options.batch))
    let repeats = Spread(regions.map { $0.joules / Double(runsPerRepeat * options.batch) })

    let cost = try graph.costs(inputShapes: inputs.mapValues(\.shape))
    let model = EnergyModel(
      profile: try HardwareProfile.builtin(options.profile), weightsFrom: options.weightsFrom)
    var modelled: [String: EnergyFigure] = [:]
    var notes: [String] = []
    let dense = model.run(cost, storage: .dense).total.scaled(by: 1 / Double(options.batch))
    modelled[WeightStorage.dense.description] = dense
    if cost.totals.nonzeroParameters < cost.totals.parameters {
      // Sparse storage is shown only where it is a saving: with few zeros, the index bits cost more
      // than the zeros they skip.
      let storage = WeightStorage.sparse(valueBits: 32, indexBits: options.indexBits)
      let sparse = model.run(cost, storage: storage).total.scaled(by: 1 / Double(options.batch))
      let zeros = 100 * Double(cost.totals.parameters - cost.totals.nonzeroParameters) / Double(cost.totals.parameters)
      if sparse.joules < dense.joules {
        modelled[storage.description] = sparse
      } else {
        notes.append(
          "\(name): sparse storage not shown: with \(String(format: "%.2f", zeros)) % zeros its "
            + "\(options.indexBits)-bit indices would cost more than dense storage")
      }
    }
    let carbon = try CarbonEstimate(energy: perInference.scaled(by: 1e6), intensity: intensity, pue: options.pue)
    var result = ModelEnergy(
      model: name, batch: options.batch, runs: runs, repeats: repeats, latency: LatencyStats(samples: samples),
      perInference: perInference, region: region, skippedMeters: skipped, modelled: modelled,
      carbonPerMillion: carbon, parameters: cost.totals.parameters,
      nonzeroParameters: cost.totals.nonzeroParameters, macs: cost.totals.macs / options.batch,
      nonzeroMACs: cost.totals.nonzeroMACs / options.batch)
    result.notes = notes
    return result
  }
}
