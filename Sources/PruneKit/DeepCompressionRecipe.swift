import Compression
import Foundation
import ModelGraph
import Pruning
import TensorCore

/// What the Deep Compression recipe needs from training. PruneKit implements it over the Training
/// module for LeNet on MNIST (`LeNetWorkbench`); tests implement it with fakes. A class, because
/// retraining and fine-tuning share one optimiser state and data order across the stages.
public protocol DeepCompressionWorkbench: AnyObject {
  /// A trained dense model: trained now, or reused from a cache.
  func denseModel() throws -> Graph
  /// Retrains `graph` with its masks held (pruned weights stay exactly zero).
  func retrain(_ graph: inout Graph, round: Int) throws
  /// ∂loss/∂W on the next training mini-batch, for centroid fine-tuning.
  func gradients(of graph: Graph, for names: [String]) throws -> [String: Tensor]
  /// Error rate on the test set, in [0, 1]: reported, never used to choose anything.
  func testError(of graph: Graph) throws -> Double
  /// Error rate on the validation split (held out of training), in [0, 1]: what the rounds are
  /// monitored on, and what settings are chosen on.
  func validationError(of graph: Graph) throws -> Double
}

/// The whole pipeline of Han, Mao & Dally 2016 (Fig. 1): prune with retraining (Han et al. 2015,
/// iterative magnitude thresholds), share weights by k-means, fine-tune the centroids, code indices
/// and values with Huffman codes, write the `.pkz`, and evaluate the file as decoded from disk.
///
/// Every size in the result is the size of a file written at that stage (dense, pruned Float32,
/// quantized with fixed-width streams, Huffman-coded), measured on disk.
public struct DeepCompressionRecipe: Sendable {
  /// Target fraction of weights kept per layer after pruning (parameter name → fraction).
  public var keptFractions: [String: Double]
  public var pruningRounds: Int
  public var compression: CompressionOptions
  public var fineTuning: CentroidFineTuning
  /// Folder for the stage files; the final file is `<name>.pkz` in it.
  public var outputDirectory: String
  public var name: String

  public init(
    name: String, keptFractions: [String: Double], pruningRounds: Int = 3,
    compression: CompressionOptions = CompressionOptions(),
    fineTuning: CentroidFineTuning = CentroidFineTuning(steps: 200),
    outputDirectory: String
  ) {
    self.name = name
    self.keptFractions = keptFractions
    self.pruningRounds = pruningRounds
    self.compression = compression
    self.fineTuning = fineTuning
    self.outputDirectory = outputDirectory
  }

  public var finalPath: String { (outputDirectory as NSString).appendingPathComponent("\(name).pkz") }

  func stagePath(_ stage: String) -> String {
    (outputDirectory as NSString).appendingPathComponent("\(name)-\(stage).pkz")
  }

  /// Runs every stage; `progress` receives one line per stage (and whatever the workbench reports).
  public func run(_ bench: some DeepCompressionWorkbench, progress: (String) -> Void = { _ in }) throws
    -> DeepCompressionResult
  {
    try FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
    progress("[1/6] dense model")
    let dense = try bench.denseModel()
    let denseError = try bench.testError(of: dense)
    progress("      dense test error \(deepCompressionPercent(denseError))")

    progress("[2/6] pruning with retraining: \(pruningRounds) rounds toward \(keptSummary())")
    var pruned = dense
    for name in keptFractions.keys where dense.initializers[name] == nil {
      throw PruningError.missingParameter(name: name)
    }
    let pruner = IterativePruningRecipe.schedule(kept: keptFractions, rounds: pruningRounds)
    var recovery = WorkbenchRecovery(bench: bench)
    let layers = Array(keptFractions.keys)
    let rounds = try withoutActuallyEscaping(progress) { progress in
      try pruner.run(&pruned, recovery: &recovery) { graph in
        let error = try bench.validationError(of: graph)
        progress(
          "      round done: validation error \(deepCompressionPercent(error)), kept "
            + deepCompressionPercent(1 - graph.sparsity(of: layers)))
        return 1 - error
      }
    }
    let prunedError = try bench.testError(of: pruned)
    let kept = rounds.last?.kept ?? [:]
    let keptText = kept.sorted { $0.key < $1.key }.map { "\($0.key) \(deepCompressionPercent($0.value))" }
    progress("      kept \(keptText.joined(separator: ", "))")
    progress("      pruned test error \(deepCompressionPercent(prunedError))")

    let (fcBits, convBits) = (compression.bits[.fullyConnected]!, compression.bits[.convolution]!)
    progress("[3/6] weight sharing (k-means, bits fc=\(fcBits), conv=\(convBits))")
    var model = quantize(pruned, options: compression)
    let sharedError = try bench.testError(of: model.graph)
    progress("      shared-weight test error before fine-tuning \(deepCompressionPercent(sharedError))")

    progress("[4/6] centroid fine-tuning: \(fineTuning.steps) steps")
    var source = WorkbenchGradients(bench: bench)
    try fineTuneCentroids(&model.layers, in: &model.graph, source: &source, settings: fineTuning) {
      step, total in
      if step % max(total / 4, 1) == 0 || step == total { progress("      step \(step)/\(total)") }
    }
    model.refreshGraph()

    progress("[5/6] writing stage files and the Huffman-coded .pkz")
    var fixed = compression
    fixed.entropyCoding = false
    var raw = fixed
    raw.minimumElements = Int.max
    let sizes = try [
      (stagePath("dense"), quantize(dense, options: raw), raw),
      (
        stagePath("pruned"),
        quantize(pruned, options: CompressionOptions(scheme: .float32, entropyCoding: false)), fixed
      ),
      (stagePath("quantized"), model, fixed),
    ].map { path, m, options in
      try writePKZ(m, to: path, options: options)
      return try fileSize(path)
    }
    let report = try writePKZ(model, to: finalPath, options: compression)
    let finalBytes = try fileSize(finalPath)

    progress("[6/6] evaluating \(finalPath) as decoded from disk")
    let decoded = try readPKZ(path: finalPath)
    let finalError = try bench.testError(of: decoded.graph)
    return DeepCompressionResult(
      name: name, denseBytes: sizes[0], prunedBytes: sizes[1], quantizedBytes: sizes[2],
      huffmanBytes: finalBytes,
      denseError: denseError, prunedError: prunedError, sharedError: sharedError, finalError: finalError,
      kept: kept, rounds: rounds, report: report, bitExact: decoded.graph == model.graph, path: finalPath)
  }

  func keptSummary() -> String {
    keptFractions.sorted { $0.key < $1.key }.map { "\($0.key) \(deepCompressionPercent($0.value))" }.joined(
      separator: ", ")
  }
}

func fileSize(_ path: String) throws -> Int {
  guard let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int else {
    throw CompressionError.io(path: path, reason: "no file size")
  }
  return size
}

func deepCompressionPercent(_ x: Double) -> String { String(format: "%.2f%%", 100 * x) }

/// Pruning's `Recovery` over a workbench (Pruning never imports Training).
struct WorkbenchRecovery<Bench: DeepCompressionWorkbench>: Recovery {
  let bench: Bench
  mutating func recover(_ graph: inout Graph, round: Int) throws { try bench.retrain(&graph, round: round) }
}

/// Compression's `WeightGradientSource` over a workbench (Compression never imports Training).
struct WorkbenchGradients<Bench: DeepCompressionWorkbench>: WeightGradientSource {
  let bench: Bench
  mutating func gradients(of graph: Graph, for names: [String]) throws -> [String: Tensor] {
    try bench.gradients(of: graph, for: names)
  }
}
