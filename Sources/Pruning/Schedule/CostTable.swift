import Foundation

/// One way to prune one layer: its weight made sparse (unstructured, N:M, block) or the coupled group
/// whose channels/neurons/heads the layer creates cut physically (`channels`), optionally with the
/// layer's remaining weight then made unstructured-sparse as well (`channels` with a `sparsity`).
public struct PruningCandidate: Codable, Sendable, Hashable, CustomStringConvertible {
  public enum Kind: String, Codable, Sendable, CaseIterable { case dense, unstructured, nm, block, channels }

  public var kind: Kind
  /// unstructured and block: fraction of the weight zeroed; channels: of the weight left after the cut.
  public var sparsity: Double?
  /// nm: N kept of every M along the input dimension.
  public var n: Int?
  public var m: Int?
  /// block: rows × cols blocks of the weight viewed as [out, rest].
  public var rows: Int?
  public var cols: Int?
  /// channels: fraction of the group's units removed.
  public var ratio: Double?

  public static let dense = PruningCandidate(kind: .dense)
  public static func unstructured(_ s: Double) -> PruningCandidate { .init(kind: .unstructured, sparsity: s) }
  public static func nOfM(_ n: Int, _ m: Int) -> PruningCandidate { .init(kind: .nm, n: n, m: m) }
  public static func block(_ rows: Int, _ cols: Int, _ s: Double) -> PruningCandidate {
    .init(kind: .block, sparsity: s, rows: rows, cols: cols)
  }
  public static func channels(_ ratio: Double, sparsity: Double? = nil) -> PruningCandidate {
    .init(kind: .channels, sparsity: sparsity, ratio: ratio)
  }

  public init(
    kind: Kind, sparsity: Double? = nil, n: Int? = nil, m: Int? = nil, rows: Int? = nil, cols: Int? = nil,
    ratio: Double? = nil
  ) {
    self.kind = kind
    self.sparsity = sparsity
    self.n = n
    self.m = m
    self.rows = rows
    self.cols = cols
    self.ratio = ratio
  }

  /// The mask pattern of a sparse candidate (nil for dense and a plain channel cut; unstructured for
  /// a cut with a sparsity, applied to the weight as cut).
  public var pattern: SparsityPattern? {
    switch kind {
    case .unstructured: return .unstructured
    case .nm: return .nOfM(n: n ?? 2, m: m ?? 4)
    case .block: return .block(rows: rows ?? 4, cols: cols ?? 4)
    case .channels: return sparsity == nil ? nil : .unstructured
    case .dense: return nil
    }
  }

  /// Whether the fields the kind needs are present and in range (a plan file is user input).
  public var isValid: Bool {
    switch kind {
    case .dense: return true
    case .unstructured: return sparsity.map { $0.isFinite && $0 >= 0 && $0 < 1 } ?? false
    case .nm: return n != nil && m != nil && n! >= 1 && m! > n!
    case .block:
      return rows.map { $0 > 0 } ?? false && cols.map { $0 > 0 } ?? false
        && sparsity.map { $0.isFinite && $0 >= 0 && $0 < 1 } ?? false
    case .channels:
      return ratio.map { $0.isFinite && $0 > 0 && $0 < 1 } ?? false
        && sparsity.map { $0.isFinite && $0 > 0 && $0 < 1 } ?? true
    }
  }

  public var description: String {
    func percent(_ x: Double?) -> String { String(format: "%.0f%%", 100 * (x ?? 0)) }
    switch kind {
    case .dense: return "dense"
    case .unstructured: return "unstructured \(percent(sparsity))"
    case .nm: return "\(n ?? 0):\(m ?? 0)"
    case .block: return "block \(rows ?? 0)x\(cols ?? 0) \(percent(sparsity))"
    case .channels: return "channels -\(percent(ratio))" + (sparsity.map { " + \(percent($0))" } ?? "")
    }
  }
}

/// A candidate with what it costs and what it is predicted to lose.
public struct CostedCandidate: Codable, Sendable, Equatable {
  public var candidate: PruningCandidate
  /// Measured seconds per run of the layer with this candidate, through the kernel the executor picks;
  /// for `channels` also the change of the time of the layers that read the cut channels.
  public var seconds: Double
  /// Modelled joules per run (Energy module, same accounting).
  public var joules: Double
  /// Predicted quality loss (baseline − quality with only this candidate applied), ≥ 0.
  public var loss: Double
  /// Kernels the executor picked for the timed nodes (e.g. "csr", "dense").
  public var kernels: [String]
  /// `channels` only: how the cut is built into `seconds`, so that cuts and sparsity chosen together
  /// can be composed (`CostTable.predicted`) instead of added. nil in tables written before.
  public var cut: CutTiming?

  public init(
    candidate: PruningCandidate, seconds: Double, joules: Double, loss: Double = 0, kernels: [String] = [],
    cut: CutTiming? = nil
  ) {
    self.candidate = candidate
    self.seconds = seconds
    self.joules = joules
    self.loss = loss
    self.kernels = kernels
    self.cut = cut
  }
}

/// What a channel cut does to the time of the model: the layer that creates the group at its own new
/// time, every other layer of the group (readers narrowed on their input, parallel producers such as
/// K and V narrowed on their output) at a fraction of its time, and the ops between them that are no
/// layer (pooling, activations, softmax, attention products, normalisation) measured inside the cut
/// model against the dense one.
///
/// `seconds` of the candidate = `ownSeconds` + Σ (scale − 1) × member's dense seconds +
/// `surroundingSeconds`: what the cut saves with every other layer left dense.
public struct CutTiming: Codable, Sendable, Equatable {
  /// The creating layer's seconds with the candidate (narrowed output, and its sparsity if any).
  public var ownSeconds: Double
  /// Other layers of the group (by weight): their time with the cut over their time without.
  public var memberScales: [String: Double]
  /// Change of the non-layer ops' time inside the whole model (negative: faster).
  public var surroundingSeconds: Double

  public init(ownSeconds: Double, memberScales: [String: Double], surroundingSeconds: Double = 0) {
    self.ownSeconds = ownSeconds
    self.memberScales = memberScales
    self.surroundingSeconds = surroundingSeconds
  }
}

/// The candidates of one prunable layer (a coupled group's channels are offered by the layer that
/// creates them: the group is one choice).
public struct LayerCosts: Codable, Sendable, Equatable {
  /// The weight initializer.
  public var layer: String
  public var node: String
  /// Index 0 is the dense candidate.
  public var options: [CostedCandidate]
  /// The layer's dense time inside the whole model over its one-node time: every option's seconds were
  /// multiplied by it (nil: not calibrated).
  public var inGraphScale: Double?

  public init(layer: String, node: String, options: [CostedCandidate]) {
    self.layer = layer
    self.node = node
    self.options = options
  }
}

/// Per-layer measured costs on one machine, at one batch and thread count.
public struct CostTable: Codable, Sendable, Equatable {
  public var cpu: String
  public var batch: Int
  public var threads: Int
  /// Whole dense model, measured (median seconds per run) and modelled (joules per run).
  public var denseSeconds: Double
  public var denseJoules: Double
  public var layers: [LayerCosts]

  public init(cpu: String, batch: Int, threads: Int, denseSeconds: Double, denseJoules: Double, layers: [LayerCosts])
  {
    self.cpu = cpu
    self.batch = batch
    self.threads = threads
    self.denseSeconds = denseSeconds
    self.denseJoules = denseJoules
    self.layers = layers
  }

  /// Time of everything that is not a prunable layer (activations, pooling, the executor itself):
  /// the measured whole model minus the layers' measured dense times; assumed unchanged by pruning.
  public var overheadSeconds: Double { denseSeconds - layers.reduce(0) { $0 + $1.options[0].seconds } }
  public var overheadJoules: Double { denseJoules - layers.reduce(0) { $0 + $1.options[0].joules } }

  /// Scales every measured time (layers and overhead) so that the dense model takes `denseSeconds`.
  public mutating func rescale(to denseSeconds: Double) {
    guard denseSeconds > 0, self.denseSeconds > 0 else { return }
    let factor = denseSeconds / self.denseSeconds
    for l in layers.indices {
      for o in layers[l].options.indices { layers[l].options[o].seconds *= factor }
    }
    self.denseSeconds = denseSeconds
  }

  /// Predicted whole-model seconds and joules for one option index per layer.
  ///
  /// Seconds compose cuts with what else is chosen: a layer's time (its own with its candidate) is
  /// multiplied by the scale of every chosen cut it is a member of, so a layer whose input channels
  /// another layer's cut removes *and* whose weight is sparse (or cut itself) is counted once, at
  /// both reductions, and not with both savings added up as if each applied to the dense layer. Joules
  /// and losses add up.
  public func predicted(_ choice: [Int]) -> (seconds: Double, joules: Double, loss: Double) {
    var (j, l) = (overheadJoules, 0.0)
    for (layer, i) in zip(layers, choice) {
      j += layer.options[i].joules
      l += layer.options[i].loss
    }
    let parts = composed(choice)
    return (parts.layers.reduce(overheadSeconds + parts.surrounding, +), j, l)
  }

  /// Each layer's predicted seconds in the model with `choice` applied (its own candidate, times the
  /// scale of every chosen cut it is a member of), and the chosen cuts' change to the non-layer ops.
  public func composed(_ choice: [Int]) -> (layers: [Double], surrounding: Double) {
    var factor = [Double](repeating: 1, count: layers.count)
    var surrounding = 0.0
    let index = Dictionary(layers.enumerated().map { ($1.layer, $0) }, uniquingKeysWith: { a, _ in a })
    for (layer, i) in zip(layers, choice) {
      guard let cut = layer.options[i].cut else { continue }
      surrounding += cut.surroundingSeconds
      for (member, scale) in cut.memberScales {
        if let m = index[member] { factor[m] *= scale }
      }
    }
    let seconds = zip(layers, choice).enumerated().map { l, pair in
      (pair.0.options[pair.1].cut?.ownSeconds ?? pair.0.options[pair.1].seconds) * factor[l]
    }
    return (seconds, surrounding)
  }

  /// Every layer's fastest option (its least seconds), and their composed seconds: the fastest plan
  /// the table offers, up to what composing cuts with what they narrow takes back.
  public var fastest: (choice: [Int], seconds: Double) {
    let choice = layers.map { layer in layer.options.indices.min { layer.options[$0].seconds < layer.options[$1].seconds }! }
    return (choice, predicted(choice).seconds)
  }

  /// Predicted seconds as the knapsack sees them: each chosen option's seconds added up, each priced
  /// against an otherwise dense model. Equal to `predicted` when no chosen cut touches another chosen
  /// candidate, otherwise (a pruned layer also narrowed by a cut) below it: the saving of the narrowing
  /// and of the layer's own candidate are both counted on the dense layer.
  public func additiveSeconds(_ choice: [Int]) -> Double {
    zip(layers, choice).reduce(overheadSeconds) { $0 + $1.0.options[$1.1].seconds }
  }
}
