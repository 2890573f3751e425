import ArgumentParser
import Foundation
import PruneKit

/// `prunekit prune MODEL --plan plan.json -o OUT`: applies a hardware-aware plan, then re-measures the
/// whole model on the plan's inputs, batch and threads and prints predicted vs measured latency.
extension PruneCommand {
  /// With --plan every other pruning option is inapplicable (the plan says per layer what to do).
  func checkPlanCombinations() throws {
    try OptionCheck.inapplicable(
      [
        "--method": method != nil, "--scope": scope != nil, "--sparsity": sparsity != nil, "--pattern": pattern != nil,
        "--block": block != nil, "--structured": structured != nil, "--ratio": ratio != nil,
        "--target-params": targetParams != nil, "--target-macs": targetMacs != nil, "--ignore": !ignore.isEmpty,
        "--schedule": schedule != "oneshot", "--calib": calib != nil, "--print-groups": printGroups,
        "--rounds": rounds != nil, "--retrain-epochs": retrainEpochs != nil, "--lr": lr != nil,
        "--dense-epochs": denseEpochs != nil, "--kept": kept != nil, "--epochs": epochs != nil,
        "--ramp-epochs": rampEpochs != nil, "--updates-per-epoch": updatesPerEpoch != nil, "--limit": limit != nil,
        "--allocation": allocation != nil, "--max-length": maxLength != nil, "--tokenizer": tokenizer != nil,
      ], because: "--plan gives every layer its candidate")
  }

  struct PlanOutput: Encodable {
    let plan: String
    let layers: [HardwareAwarePlan.Layer]
    let denseMilliseconds: Double
    let plannedDenseMilliseconds: Double
    let predictedMilliseconds: Double
    let measuredMilliseconds: Double
    let predictionError: Double
    let measuredSpeedup: Double
  }

  func runPlan(_ path: String) throws {
    let plan = try HardwareAwarePlan.read(from: path)
    let dense = try ModelFile.loadAny(model)
    var graph = dense
    try applyCandidates(plan.choices, to: &graph)
    try save(graph)
    ThreadPool.shared.threadCount = plan.threads
    let inputs =
      plan.sequence == nil
      ? try PlanningSetup.mnistTimingInputs(graph: dense, folder: PruneDataSources.folder(data), batch: plan.batch)
      : try ModelBenchmark.inputs(for: dense, batch: plan.batch, sequence: plan.sequence!, seed: plan.seed)
    let denseTime = try HardwareAwarePlanner.measure(dense, inputs: inputs, threads: plan.threads)
    let planned = try HardwareAwarePlanner.measure(graph, inputs: inputs, threads: plan.threads)
    let measured = planned.median * 1e3
    let error = (plan.predictedMilliseconds - measured) / measured
    if json {
      return try JSONOutput.print(
        PlanOutput(
          plan: path, layers: plan.layers, denseMilliseconds: denseTime.median * 1e3,
          plannedDenseMilliseconds: plan.denseMilliseconds, predictedMilliseconds: plan.predictedMilliseconds,
          measuredMilliseconds: measured, predictionError: error, measuredSpeedup: denseTime.median * 1e3 / measured),
        command: "prune")
    }
    let layers = ReportTable(columns: ["layer", "candidate"], rows: plan.layers.map { [$0.layer, $0.candidate.description] })
    print(layers.text(), terminator: "")
    print(
      String(
        format: "dense %.4f ms (plan: %.4f ms); predicted %.4f ms, measured %.4f ms (%.2f×): error %+.1f%% "
          + "(%@, batch %d, %d thread(s))", denseTime.median * 1e3, plan.denseMilliseconds, plan.predictedMilliseconds,
        measured, denseTime.median * 1e3 / measured, 100 * error, plan.timingInputs, plan.batch, plan.threads))
    if plan.cpu != KernelChoiceCache.cpuModel {
      print("note: the plan was measured on \(plan.cpu); this CPU is \(KernelChoiceCache.cpuModel)")
    }
    print("wrote \(output)")
  }
}
