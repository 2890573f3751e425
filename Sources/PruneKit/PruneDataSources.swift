import ModelGraph
import Pruning

/// Data-backed sources for pruning (gradients, evaluation) built from a `--data` argument.
public enum PruneDataSources {
  /// A gradient source over the labelled data at `data` for `graph`.
  public static func gradientSource(for graph: Graph, data: String, seed: UInt64) throws -> any GradientSource {
    throw PruningError.callbackFailed(what: "gradients from '\(data)'", reason: "the Training glue is not built yet")
  }
}
