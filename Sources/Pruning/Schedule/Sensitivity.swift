import ModelGraph
import Runtime
import TensorCore

/// One layer's sensitivity curve: quality of the whole model when only this layer is pruned to each
/// sparsity (Han et al. 2015 Fig. 6; Distiller's sensitivity analysis).
public struct SensitivityCurve: Sendable, Codable, Equatable {
  public var layer: String
  /// Elements of the layer's weight.
  public var parameters: Int
  /// Dense multiply-accumulates of the node reading the weight (at the analysed input size); 0 unknown.
  public var macs: Int
  public var sparsities: [Double]
  public var quality: [Double]

  public init(layer: String, parameters: Int, macs: Int, sparsities: [Double], quality: [Double]) {
    self.layer = layer
    self.parameters = parameters
    self.macs = macs
    self.sparsities = sparsities
    self.quality = quality
  }
}

/// The result of a scan: the dense model's quality and one curve per layer.
public struct SensitivityReport: Sendable, Codable, Equatable {
  public var baseline: Double
  public var curves: [SensitivityCurve]

  public init(baseline: Double, curves: [SensitivityCurve]) {
    self.baseline = baseline
    self.curves = curves
  }
}

/// Prunes one layer at a time to each sparsity (layer-wise masks by `criterion`), evaluates,
/// restores. Cost: layers × sparsities evaluations.
public struct SensitivityAnalysis {
  public var criterion: any ImportanceCriterion
  public var sparsities: [Double]
  public var selection: PrunableSelection

  public init(
    criterion: any ImportanceCriterion = MagnitudeImportance(),
    sparsities: [Double] = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95],
    selection: PrunableSelection = .default
  ) {
    self.criterion = criterion
    self.sparsities = sparsities
    self.selection = selection
  }

  /// `macs` maps weight names to their node's dense MACs (e.g. from `Graph.costs`); optional.
  /// `progress` is told (layer index, layer count) after each layer.
  public func run<E: Evaluator>(
    _ graph: Graph, evaluator: inout E, macs: [String: Int] = [:],
    progress: ((Int, Int) -> Void)? = nil
  ) throws -> SensitivityReport {
    let baseline = try evaluator.evaluate(graph)
    let layers = selection.parameters(in: graph)
    var curves: [SensitivityCurve] = []
    let builder = MaskBuilder(criterion: criterion, scope: .layer)
    for (index, layer) in layers.enumerated() {
      var quality: [Double] = []
      for s in sparsities {
        if s == 0 {
          quality.append(baseline)
          continue
        }
        var trial = graph
        try trial.setMasks(builder.masks(for: trial, parameters: [layer], sparsity: s))
        quality.append(try evaluator.evaluate(trial))
      }
      curves.append(
        SensitivityCurve(
          layer: layer, parameters: graph.initializers[layer]!.count, macs: macs[layer] ?? 0,
          sparsities: sparsities, quality: quality))
      progress?(index + 1, layers.count)
    }
    return SensitivityReport(baseline: baseline, curves: curves)
  }
}

extension Graph {
  /// Dense MACs of the node reading each weight, at `inputShapes` (from the cost model).
  public func macsByWeight(inputShapes: [String: [Int]] = [:]) throws -> [String: Int] {
    var result: [String: Int] = [:]
    for node in try costs(inputShapes: inputShapes).nodes where node.macs > 0 {
      for w in node.weights { result[w, default: 0] += node.macs }
    }
    return result
  }
}
