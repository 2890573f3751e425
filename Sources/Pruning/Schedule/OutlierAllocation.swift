/// Outlier-weighted layer-wise sparsity (OWL, Yin et al. 2024, "Outlier Weighed Layerwise Sparsity"):
/// layers whose Wanda scores hold more outliers (scores above M× the layer mean) keep more weights.
/// With r̂ the outlier ratios min-max normalised to [0, 2Λ], layer i keeps
/// (1 − s) + r̂_i − mean(r̂) (mean weighted by the layers' weight counts, so the global sparsity stays s).
/// A negative Λ reverses the direction (layers with more outliers keep fewer weights), for the
/// validation search to try.
public enum OutlierAllocation {
  /// Per-layer sparsities for `target` from `outlierRatios`; `sizes`: prunable weights per layer.
  public static func sparsities(
    outlierRatios: [Double], sizes: [Int], target: Double, lambda: Double
  ) throws -> [Double] {
    guard outlierRatios.count == sizes.count, !sizes.isEmpty else {
      throw PruningError.invalidArgument(
        what: "OWL allocation", expected: "one outlier ratio per layer (\(sizes.count))", found: "\(outlierRatios.count)")
    }
    guard abs(lambda) < 0.5, lambda.isFinite else {
      throw PruningError.invalidArgument(what: "OWL lambda", expected: "in (−0.5, 0.5)", found: "\(lambda)")
    }
    let (lo, hi) = (outlierRatios.min()!, outlierRatios.max()!)
    let spread = hi > lo ? hi - lo : 1
    let scaled = outlierRatios.map { ($0 - lo) / spread * 2 * lambda }
    let total = Double(sizes.reduce(0, +))
    let mean = zip(scaled, sizes).reduce(0.0) { $0 + $1.0 * Double($1.1) } / total
    let result = scaled.map { 1 - ((1 - target) + $0 - mean) }
    for (i, s) in result.enumerated() where !(s > 0 && s < 1) {
      throw PruningError.invalidArgument(
        what: "OWL allocation at sparsity \(target) with lambda \(lambda)",
        expected: "every layer's sparsity in (0, 1)", found: "layer \(i): \(s) (use a smaller lambda)")
    }
    return result
  }
}
