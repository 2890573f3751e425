import Foundation
import ModelGraph
import Pruning

extension HardwareAwarePlanner {
  /// Losses measured one candidate at a time on the dense model add up badly once several layers are
  /// pruned together: two cuts that each cost 0.5 % may cost 5 % at once. So the knapsack's plan is
  /// refined in context (a first-order expansion around the plan, as NetAdapt measures each
  /// proposal inside the network it shrinks): every option's loss is re-measured with every other
  /// layer at its planned candidate — quality with the layer dense less quality with the option —
  /// and the knapsack solved again with those losses for the same budget. Every plan met on the way
  /// is applied whole and scored on the validation data, and so is every uniform cut the table offers
  /// that meets the budget; the best scored is kept, and its `predictedLoss` becomes that measured
  /// loss of the whole plan (baseline − its quality).
  func refined(
    _ start: (LatencyAwareAllocator.Allocation, Graph), table: inout CostTable, budget: LatencyAwareAllocator.Budget
  ) throws -> (LatencyAwareAllocator.Allocation, Graph) {
    let baseline = try denseQuality()
    var best = start
    var bestQuality = try quality.evaluate(start.1)
    best.0.predictedLoss = baseline - bestQuality
    log(String(format: "  knapsack plan: %@ %.4f (the candidates' losses added: %.4f)", quality.name, bestQuality, start.0.predictedLoss))
    var choice = start.0.choice
    var seen: Set<[Int]> = [choice]
    for round in 0..<refinements {
      var context = table
      let planned = choices(table, choice)
      for l in table.layers.indices {
        let layer = table.layers[l].layer
        var others = planned
        others[layer] = nil
        guard let base = try? applied(others) else { continue }
        let q0 = try quality.evaluate(base)
        var running = 0.0
        for o in table.layers[l].options.indices where table.layers[l].options[o].candidate.kind != .dense {
          let candidate = table.layers[l].options[o].candidate
          var trial = others
          trial[layer] = candidate
          guard let g = try? applied(trial) else {
            // Not applicable beside the others (a pattern a planned cut leaves unfit): never chosen.
            context.layers[l].options[o].loss = (table.layers[l].options.map(\.loss).max() ?? 0) + 1
            continue
          }
          var loss = max(0, q0 - (try quality.evaluate(g)))
          if candidate.kind == .unstructured {
            loss = max(loss, running)
            running = loss
          }
          context.layers[l].options[o].loss = loss
        }
      }
      var (allocation, graph) = try allocateApplicable(&context, budget: budget)
      guard seen.insert(allocation.choice).inserted else {
        log("  refinement \(round + 1): the plan in context is one already scored")
        break
      }
      let q = try quality.evaluate(graph)
      let added = allocation.predictedLoss
      allocation.predictedLoss = baseline - q
      log(String(format: "  refinement %d: %@ %.4f (in-context losses added: %.4f)", round + 1, quality.name, q, added))
      if q > bestQuality {
        best = (allocation, graph)
        bestQuality = q
      }
      choice = allocation.choice
    }
    // The uniform cuts the table offers (every group at one ratio, the rest dense) are scored too when
    // they meet the budget as composed: an allocation that scores below a uniform one on the
    // validation data is not kept.
    let ratios = Set(table.layers.flatMap(\.options).compactMap { $0.candidate.kind == .channels && $0.candidate.sparsity == nil ? $0.candidate.ratio : nil })
    for ratio in ratios.sorted() {
      let uniform = table.layers.map { layer in layer.options.firstIndex { $0.candidate == .channels(ratio) } ?? 0 }
      guard !seen.contains(uniform), uniform.contains(where: { $0 != 0 }) else { continue }
      let predicted = table.predicted(uniform)
      let within = (budget.isEnergy ? predicted.joules : predicted.seconds) <= budget.limit(in: table)
      guard within, let graph = try? applied(choices(table, uniform)) else { continue }
      let q = try quality.evaluate(graph)
      log(String(format: "  uniform %.0f %% cut: %@ %.4f", 100 * ratio, quality.name, q))
      if q > bestQuality {
        best = (
          LatencyAwareAllocator.Allocation(
            choice: uniform, predictedSeconds: predicted.seconds, predictedJoules: predicted.joules,
            predictedLoss: baseline - q, discretisationError: 0),
          graph
        )
        bestQuality = q
      }
    }
    return best
  }

  func denseQuality() throws -> Double { try quality.evaluate(measurer.graph) }

  /// The dense model with `choices` applied.
  func applied(_ choices: [String: PruningCandidate]) throws -> Graph {
    var graph = measurer.graph
    try applyCandidates(choices, to: &graph)
    return graph
  }
}
