import Foundation
import PruneKit
import Testing

/// `prunekit plan` and `prunekit prune --plan` end to end on the LeNet-5 fixture (MNIST-shaped, the
/// repository's MNIST copy as validation data): a small cost table, a plan saved and applied, and
/// the refusals.
@Suite(.serialized) struct PlanCLITests {
  final class Workspace {
    let path: String
    init() throws {
      path = try CLI.temporaryFolder()
      try FileManager.default.copyItem(atPath: CLI.fixtures + "/lenet5.onnx", toPath: path + "/lenet5.onnx")
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path + "/" + name) }
  }

  /// Plan for 1.3× on the candidates' reduced grid, apply it, and read both results.
  @Test func planSavesAndPruneAppliesIt() throws {
    let w = try Workspace()
    let r = try CLI.run(
      [
        "plan", "lenet5.onnx", "--speedup", "1.3", "--validation", "200", "--sparsities", "0.5,0.9", "--ratios", "0.5",
        "--compare", "runs", "--test-limit", "200", "-o", "plan.json", "--json",
      ], in: w.path, timeout: 600)
    #expect(r.status == 0, "\(r.output)")
    struct Output: Decodable {
      struct Plan: Decodable {
        struct Layer: Decodable {
          let layer: String
          let candidate: PruningCandidate
          let milliseconds: Double
        }
        struct Attempt: Decodable {
          let budgetMilliseconds: Double
          let predictedMilliseconds: Double
        }
        let layers: [Layer]
        let attempts: [Attempt]
        let denseMilliseconds: Double
        let predictedMilliseconds: Double
        let measuredMilliseconds: Double
        let targetMilliseconds: Double?
      }
      let plan: Plan
      let measuredSpeedup: Double
    }
    let out = try CLI.jsonResult(Output.self, from: r.stdout, command: "plan")
    #expect(out.plan.layers.count == 4)  // conv1, conv2, fc1, fc2
    // Every knapsack answer fits its budget (the first budget is the target; later ones are rescaled by
    // the re-measured latency).
    #expect(abs(out.plan.attempts[0].budgetMilliseconds - out.plan.targetMilliseconds!) < 1e-9)
    for a in out.plan.attempts { #expect(a.predictedMilliseconds <= a.budgetMilliseconds * (1 + 1e-9)) }
    #expect(out.plan.layers.contains { $0.candidate.kind != .dense })
    let saved = try HardwareAwarePlan.read(from: w.path + "/plan.json")
    #expect(saved.layers.count == 4)
    #expect(!saved.costTable.layers.isEmpty)
    // Each layer was offered dense, two sparsities, and where it fits 2:4, block and channel cuts.
    #expect(saved.costTable.layers.allSatisfy { $0.options.count >= 3 && $0.options[0].candidate == .dense })
    // The comparison's run records: the report puts predicted beside measured latency and draws quality
    // against measured latency for the three methods.
    let report = try CLI.run(["report", "runs", "-o", "report.md"], in: w.path)
    #expect(report.status == 0, "\(report.output)")
    let page = try String(contentsOfFile: w.path + "/report.md", encoding: .utf8)
    #expect(page.contains("Planned models: predicted and measured latency"), "\(page)")
    #expect(page.contains("Cost-table prediction error over the plans tried"))
    for method in ["latency-aware", "uniform magnitude", "uniform channels", "sensitivity by sparsity"] {
      #expect(page.contains(method))
    }
    // The table's losses are in validation accuracy: reusing it to select on cross-entropy is refused.
    let other = try CLI.run(
      ["plan", "lenet5.onnx", "--speedup", "1.3", "--validation", "200", "--table", "plan.json", "--selection",
       "cross-entropy", "-o", "ce.json"], in: w.path, timeout: 600)
    #expect(other.status != 0 && other.stderr.contains("plan.json") && other.stderr.contains("cross-entropy"), "\(other.output)")
    #expect(!w.exists("ce.json"))
    let html = try CLI.run(["report", "runs", "-o", "report.html"], in: w.path)
    #expect(html.status == 0, "\(html.output)")
    let chart = try String(contentsOfFile: w.path + "/report.html", encoding: .utf8)
    #expect(chart.contains("aria-label=\"Latency vs accuracy\""))
    let applied = try CLI.run(["prune", "lenet5.onnx", "--plan", "plan.json", "-o", "p.onnx"], in: w.path)
    #expect(applied.status == 0, "\(applied.output)")
    #expect(applied.stdout.contains("predicted"), "\(applied.stdout)")
    #expect(applied.stdout.contains("measured"), "\(applied.stdout)")
    let pruned = try ModelFile.loadAny(w.path + "/p.onnx")
    let dense = try ModelFile.loadAny(w.path + "/lenet5.onnx")
    #expect(pruned.initializers.values.reduce(0) { $0 + $1.count } <= dense.initializers.values.reduce(0) { $0 + $1.count })
  }

  @Test func refusals() throws {
    let w = try Workspace()
    let cases: [([String], String)] = [
      (["plan", "lenet5.onnx", "-o", "p.json"], "--speedup"),
      (["plan", "lenet5.onnx", "--speedup", "2", "--latency-budget", "0.5", "-o", "p.json"], "--latency-budget"),
      (["plan", "lenet5.onnx", "--speedup", "0.5", "-o", "p.json"], "--speedup"),
      (["plan", "lenet5.onnx", "--latency-budget", "1.5", "-o", "p.json"], "--latency-budget"),
      (["plan", "lenet5.onnx", "--speedup", "2", "--sparsities", "0.5,1.2", "-o", "p.json"], "--sparsities"),
      (["plan", "lenet5.onnx", "--speedup", "2", "--sequence", "64", "-o", "p.json"], "--sequence"),
      (["plan", "lenet5.onnx", "--speedup", "2", "-o", "p.onnx"], "p.onnx"),
      (["plan", "lenet5.onnx", "--speedup", "2", "--selection", "top5", "-o", "p.json"], "--selection"),
      (["plan", "lenet5.onnx", "--speedup", "2", "--refinements", "-1", "-o", "p.json"], "--refinements"),
      (["plan", "m.onnx", "--texts", "t.csv:text", "--speedup", "2", "--selection", "accuracy", "-o", "p.json"], "--selection"),
      (["prune", "lenet5.onnx", "--plan", "p.json", "--sparsity", "0.5", "-o", "x.onnx"], "--sparsity"),
    ]
    for (arguments, fragment) in cases {
      let r = try CLI.run(arguments, in: w.path)
      #expect(r.status == 64, "\(arguments): \(r.output)")
      #expect(r.stderr.hasPrefix("error: ") && r.stderr.contains(fragment), "\(arguments): \(r.stderr)")
    }
    // A plan file that is not one, and an impossible target: status 1, the file / best reachable named.
    try "{\"schema\": \"prunekit.run\"}".write(toFile: w.path + "/bad.json", atomically: true, encoding: .utf8)
    let bad = try CLI.run(["prune", "lenet5.onnx", "--plan", "bad.json", "-o", "x.onnx"], in: w.path)
    #expect(bad.status == 1 && bad.stderr.contains("bad.json") && bad.stderr.contains("prunekit.plan"), "\(bad.output)")
    #expect(!w.exists("x.onnx"))
    let far = try CLI.run(
      ["plan", "lenet5.onnx", "--speedup", "1000", "--validation", "50", "--sparsities", "0.5", "--ratios", "0.5",
       "-o", "far.json"], in: w.path, timeout: 600)
    #expect(far.status == 1 && far.stderr.contains("best reachable") && far.stderr.contains("speed-up"), "\(far.output)")
    #expect(!w.exists("far.json"))
  }
}
