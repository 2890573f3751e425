import Foundation

/// Options of an energy run (`prunekit energy`).
public struct EnergyRunOptions: Sendable {
  public var batch = 1
  /// Size used for symbolic dimensions other than the first (e.g. sequence length).
  public var sequence = 64
  public var runs = 20
  /// Runs are added until the timed region lasts at least this long (seconds).
  public var minSeconds = 1.0
  public var warmup = 2
  public var region: String?
  public var pue = PUE.none
  public var profile = "horowitz-45nm"
  public var weightsFrom = WeightMemory.dram
  /// Index bits per non-zero for the sparse storage model (Deep Compression: 5 for FC, 4 for conv).
  public var indexBits = 5
  public var seed: UInt64 = 0
  public var probe = EnergyProbe.system()

  public init() {}
}

/// Energy of one model: measured or estimated around real runs, and modelled from its counts.
public struct ModelEnergy: Codable, Sendable {
  public var model: String
  public var batch: Int
  public var runs: Int
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

/// Runs `graph` `options.runs` times inside an energy session and models its energy.
public func measureEnergy(of graph: Graph, named name: String, options: EnergyRunOptions) throws
  -> ModelEnergy
{
  guard options.batch > 0, options.runs > 0, options.sequence > 0 else {
    throw EnergyError.invalidArgument(
      "batch, runs and sequence must be positive (got \(options.batch), \(options.runs), \(options.sequence))"
    )
  }
  let inputs = try syntheticInputs(
    for: graph, batch: options.batch, sequence: options.sequence, seed: options.seed)
  // The kernels `prunekit run` and `bench` use: sparse layers get the kernel measured fastest.
  let executor = try Executor(
    graph: graph, selector: SparseKernelSelector(graph: graph, inputShapes: inputs.mapValues(\.shape), sample: inputs))
  let warm = try LatencyStats.measure(warmup: max(0, options.warmup - 1), runs: 1) {
    _ = try executor.run(inputs)
  }
  let runs = max(options.runs, Int((options.minSeconds / max(warm.min, 1e-7)).rounded(.up)))
  let session = try EnergySession(probe: options.probe, samplingInterval: 1.0)
  let latency = try LatencyStats.measure(warmup: 0, runs: runs) { _ = try executor.run(inputs) }
  guard let region = combine(try session.stop()) else {
    throw EnergyError.invalidArgument("energy session returned no figure")
  }
  let perInference = region.scaled(by: 1 / Double(runs * options.batch))

  let cost = try graph.costs(inputShapes: inputs.mapValues(\.shape))
  let model = EnergyModel(
    profile: try HardwareProfile.builtin(options.profile), weightsFrom: options.weightsFrom)
  var modelled: [String: EnergyFigure] = [:]
  var storages: [WeightStorage] = [.dense]
  if cost.totals.nonzeroParameters < cost.totals.parameters {
    storages.append(.sparse(valueBits: 32, indexBits: options.indexBits))
  }
  for storage in storages {
    modelled[storage.description] = model.run(cost, storage: storage).total.scaled(
      by: 1 / Double(options.batch))
  }
  let table = try CarbonIntensityTable.builtin()
  let carbon = try CarbonEstimate(
    energy: perInference.scaled(by: 1e6), intensity: try table.intensity(for: options.region),
    pue: options.pue)
  return ModelEnergy(
    model: name, batch: options.batch, runs: runs, latency: latency, perInference: perInference,
    region: region, skippedMeters: session.skipped, modelled: modelled, carbonPerMillion: carbon,
    parameters: cost.totals.parameters, nonzeroParameters: cost.totals.nonzeroParameters,
    macs: cost.totals.macs / options.batch, nonzeroMACs: cost.totals.nonzeroMACs / options.batch)
}
