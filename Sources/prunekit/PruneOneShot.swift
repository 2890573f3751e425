import ArgumentParser
import Foundation
import PruneKit

/// `prunekit prune MODEL --method wanda|sparsegpt|magnitude --calib FILE.csv:COLUMN[:ROWS] …`:
/// layer-wise one-shot pruning of a transformer encoder's Linears from calibration texts.
extension PruneCommand {
  func runOneShot() throws {
    let method = methodName
    let sparsity = self.sparsity ?? 0.5
    let defaults = OneShotOptions()
    let allocation = self.allocation ?? "uniform"
    let owlLambda = self.owlLambda ?? defaults.owlLambda
    let owlThreshold = self.owlThreshold ?? defaults.owlThreshold
    let maxLength = self.maxLength ?? defaults.maxLength
    guard sparsity > 0 && sparsity < 1 || pattern != nil else {
      throw ValidationError("--sparsity must be in (0, 1) for one-shot pruning, found \(sparsity)")
    }
    guard structured == nil, block == nil, schedule == "oneshot" else {
      throw ValidationError("--calib / --method \(method) prunes unstructured or N:M (--pattern); drop --structured, --block, --schedule")
    }
    guard let allocationKind = OneShotOptions.Allocation(rawValue: allocation) else {
      throw ValidationError("--allocation: uniform or owl, found '\(allocation)'")
    }
    try OptionCheck.int(maxLength, "--max-length", in: 2...8192)
    try OptionCheck.number(owlLambda, "--owl-lambda", in: -0.5...0.5, openUpper: true)
    try OptionCheck.number(owlThreshold, "--owl-threshold", in: 0...1e6)
    var options = OneShotOptions()
    options.method = method
    options.sparsity = sparsity
    options.allocation = allocationKind
    options.owlLambda = owlLambda
    options.owlThreshold = owlThreshold
    options.maxLength = maxLength
    options.withinLayer = trueSequential ? .sequential : .together
    if let roleOffsets {
      var offsets = [Double](repeating: 0, count: SequentialPruner.roles.count)
      for item in roleOffsets.split(separator: ",") {
        let parts = item.split(separator: "=")
        guard parts.count == 2, let role = SequentialPruner.roles.firstIndex(of: String(parts[0])),
          let v = Double(parts[1]), abs(v) < 1
        else {
          throw ValidationError(
            "--role-offsets ROLE=OFFSET,… with roles \(SequentialPruner.roles.joined(separator: ", ")) and |offset| < 1, found '\(item)'")
        }
        offsets[role] = v
      }
      options.roleOffsets = offsets
    }
    if let pattern {
      guard let p = SparsityPattern(argument: pattern), case .nOfM = p else {
        throw ValidationError("--pattern N:M, e.g. 2:4")
      }
      options.pattern = p
    }
    var graph = try ModelFile.loadAny(model)
    _ = try EncoderLayers.find(in: graph)  // a model with no encoder layers fails before any tokenizing
    var texts: [String] = []
    var batches: [CalibrationBatch] = []
    if let calib {
      let spec = try CSVColumnSpec(parsing: calib, option: "--calib", columnCount: 1)
      texts = try spec.read(option: "--calib").values[0]
      let words = try WordPieceTokenizer.forModel(model, folder: tokenizer)
      batches = try OneShotRecipe.calibrationBatches(
        texts: texts, tokenizer: words, maxLength: maxLength, graph: graph)
    } else if method != "magnitude" {
      throw ValidationError("--method \(method) needs calibration texts: --calib FILE.csv:COLUMN[:ROWS]")
    }
    var bar: ProgressBar? = nil
    let summary = try OneShotRecipe.prune(&graph, batches: batches, options: options, texts: texts.count) {
      phase, done, total in
      if bar == nil || bar!.label != phase { bar = ProgressBar(total: total, label: phase) }
      bar!.update(done: done, unitsDone: done, unit: "layers", fields: "")
    }
    try save(graph)
    if json { return try printJSON(summary) }
    print("layer  target   sparsity" + (summary.outlierRatios != nil ? "  outliers" : ""))
    for (i, (t, s)) in zip(summary.layerTargets, summary.layerSparsities).enumerated() {
      let r = summary.outlierRatios.map { String(format: "  %6.3f%%", 100 * $0[i]) } ?? ""
      print(String(format: "%5d  %6.2f%%  %6.2f%%", i, 100 * t, 100 * s) + r)
    }
    print(
      String(
        format: "%@ %@ (%@%@): %.2f%% of %d Linear weights zero; %d calibration texts, %d tokens; pruned in %.2f s",
        summary.method, summary.pattern, summary.allocation, trueSequential ? ", true sequential" : "",
        100 * summary.sparsity, summary.prunedWeights,
        summary.calibrationTexts, summary.calibrationTokens, summary.seconds))
    if let peak = summary.peakMemoryBytes {
      print(
        String(
          format: "peak memory while pruning %.0f MB (%.2f× the %.0f MB of weights)", Double(peak) / 1e6,
          Double(peak) / Double(summary.weightBytes), Double(summary.weightBytes) / 1e6))
    }
    print("wrote \(output)")
  }
}
