import Foundation
import PruneKit
import Testing

/// `prunekit finetune` end to end on the MLP fixture and the repository's MNIST (a few steps).
@Suite(.serialized) struct FinetuneCLITests {
  typealias Workspace = ProductCLITests.Workspace
  let cli = ProductCLITests()
  static let mnist = CLI.packageRoot + "/Data/mnist"

  func tensors(_ w: Workspace, _ name: String) throws -> [String: Tensor] {
    try SafeTensorsFile(path: w.path + "/" + name).allTensors()
  }

  @Test func finetunesHoldsZerosAndReportsJSON() throws {
    let w = try Workspace()
    try cli.ok(["prune", "mlp.onnx", "--sparsity", "0.5", "-o", "p.onnx"], in: w)
    let r = try cli.ok(
      ["finetune", "p.onnx", "--data", Self.mnist, "--limit", "256", "--steps", "6", "--batch", "32", "--lr", "1e-3",
       "-o", "t.safetensors", "--json"], in: w)
    let result = try cli.json(r, schema: "finetune")
    #expect(result["steps"] as? Int == 6)
    #expect((result["losses"] as? [Double])?.count == 6)
    #expect((result["held_zeros"] as? Int ?? 0) > 0)
    #expect(result["test_accuracy_after"] as? Double != nil)
    // The pruned entries are still exactly zero; the kept ones moved.
    try cli.ok(["convert", "p.onnx", "-o", "p.safetensors"], in: w)
    let before = try tensors(w, "p.safetensors"), after = try tensors(w, "t.safetensors")
    var moved = false
    for (name, b) in before where b.dtype == .float32 && b.rank == 2 {
      let a = try #require(after[name])
      for (x, y) in zip(b.floats, a.floats) {
        if x == 0 { #expect(y == 0, "\(name): a pruned weight became \(y)") } else if x != y { moved = true }
      }
    }
    #expect(moved)
  }

  @Test func resumedRunEqualsAnUninterruptedOne() throws {
    let w = try Workspace()
    let common = ["--data", Self.mnist, "--limit", "128", "--batch", "16", "--lr", "1e-3", "--seed", "3", "--schedule", "constant"]
    try cli.ok(["finetune", "mlp.onnx"] + common + ["--steps", "6", "-o", "straight.safetensors"], in: w)
    // Interrupted after 4 steps (a checkpoint every 2), then resumed to 6.
    try cli.ok(
      ["finetune", "mlp.onnx"] + common
        + ["--steps", "4", "--checkpoint", "c.safetensors", "--checkpoint-every", "2", "-o", "part.safetensors"], in: w)
    let r = try cli.ok(
      ["finetune", "mlp.onnx"] + common
        + ["--steps", "6", "--checkpoint", "c.safetensors", "--resume", "-o", "resumed.safetensors", "--json"], in: w)
    #expect(try cli.json(r, schema: "finetune")["resumed_from_step"] as? Int == 4)
    #expect(try tensors(w, "straight.safetensors") == tensors(w, "resumed.safetensors"))
    // A checkpoint from another seed is refused.
    try cli.refused(
      ["finetune", "mlp.onnx", "--data", Self.mnist, "--limit", "128", "--steps", "6", "--seed", "4", "--checkpoint",
       "c.safetensors", "--resume", "-o", "x.onnx"], in: w, ["--seed 3"], noOutput: "x.onnx")
  }

  /// Layer-wise distillation of all-MiniLM-L6-v2 (../shared): distilling the dense model from itself
  /// starts at a zero loss; a 70 %-magnitude-pruned student starts above it, keeps its zeros, and
  /// length-bucketed batches with warm-up run.
  @Test(.enabled(if: OneShotCLITests.available)) func hiddenStateDistillationOfMiniLM() throws {
    let w = try Workspace()
    let (model, tweets) = (OneShotCLITests.model, OneShotCLITests.tweets)
    let common = [
      "--teacher", model, "--tokenizer", CLI.packageRoot + "/../shared/models/all-MiniLM-L6-v2",
      "--data", "\(tweets):text:3000..3011", "--distill", "hidden", "--steps", "3", "--batch", "4",
      "--lr", "1e-4", "--warmup", "1", "--json",
    ]
    let same = try cli.json(try cli.ok(["finetune", model] + common + ["-o", "same.onnx"], in: w), schema: "finetune")
    #expect(try #require(same["first_loss"] as? Double) < 1e-6, "\(same)")
    try cli.ok(
      ["prune", model, "--method", "magnitude", "--sparsity", "0.7", "--calib", "\(tweets):text:0..3", "-o", "m.onnx"],
      in: w)
    let pruned = try cli.json(try cli.ok(["finetune", "m.onnx"] + common + ["-o", "d.onnx"], in: w), schema: "finetune")
    #expect(try #require(pruned["first_loss"] as? Double) > 1e-3, "\(pruned)")
    #expect((pruned["held_zeros"] as? Int ?? 0) >= 7_400_000)
    #expect(FileManager.default.fileExists(atPath: w.path + "/d.onnx"))
  }

  /// --time-limit: the run checkpoints and stops with exit status 75 and no output model; a
  /// --resume picks it up from the step it reached.
  @Test func timeLimitCheckpointsAndStopsForAResume() throws {
    let w = try Workspace()
    let run = [
      "finetune", "mlp.onnx", "--data", Self.mnist, "--limit", "128", "--batch", "16", "--steps", "100000000",
      "--checkpoint", "c.safetensors", "--time-limit", "1", "-o", "t.onnx",
    ]
    let first = try CLI.run(run, in: w.path)
    #expect(first.status == 75, "\(first.output)")
    #expect(first.stderr.contains("--resume") && !FileManager.default.fileExists(atPath: w.path + "/t.onnx"))
    let reached = try FineTuneCheckpoint.read(from: w.path + "/c.safetensors").0.step
    #expect(reached > 0)
    let second = try CLI.run(run + ["--resume"], in: w.path)
    #expect(second.status == 75 && second.stderr.contains("resumed from"), "\(second.output)")
    #expect(try FineTuneCheckpoint.read(from: w.path + "/c.safetensors").0.step > reached)
    try cli.refused(
      ["finetune", "mlp.onnx", "--data", Self.mnist, "--time-limit", "5", "-o", "x.onnx"], in: w, ["--checkpoint"])
  }

  @Test func badInputFailsBeforeTrainingNamingWhatIsWrong() throws {
    let w = try Workspace()
    try "text\nhello\n".write(toFile: w.path + "/t.csv", atomically: true, encoding: .utf8)
    try cli.refused(
      ["finetune", "mlp.onnx", "--data", "t.csv:text", "--teacher", "mlp.onnx", "-o", "x.onnx"], in: w,
      status: 1, ["input_ids"], noOutput: "x.onnx")
    try cli.refused(["finetune", "mlp.onnx", "--data", Self.mnist, "--distill", "kl", "-o", "x.onnx"], in: w, ["--teacher"])
    try cli.refused(
      ["finetune", "mlp.onnx", "--data", Self.mnist, "--teacher", "mlp.onnx", "--distill", "l2", "-o", "x.onnx"], in: w,
      ["--distill l2", "pooled-cosine"])
    try cli.refused(["finetune", "mlp.onnx", "--data", Self.mnist, "--resume", "-o", "x.onnx"], in: w, ["--checkpoint"])
    try cli.refused(
      ["finetune", "mlp.onnx", "--data", Self.mnist, "--steps", "2", "--epochs", "1", "-o", "x.onnx"], in: w,
      ["--epochs", "--steps"])
    try cli.refused(
      ["finetune", "mlp.onnx", "--data", Self.mnist, "--teacher", "mlp.onnx", "--layer-loss", "kl", "-o", "x.onnx"],
      in: w, ["--layer-loss kl", "mse or cosine"])
    try cli.refused(
      ["finetune", "mlp.onnx", "--data", Self.mnist, "--distill-layers", "all", "-o", "x.onnx"], in: w, ["--teacher"])
    // The MLP has no LayerNormalization: --distill hidden has nothing to match by default.
    try cli.refused(
      ["finetune", "mlp.onnx", "--data", Self.mnist, "--teacher", "mlp.onnx", "--distill", "hidden", "-o", "x.onnx"],
      in: w, status: 1, ["LayerNormalization"], noOutput: "x.onnx")
    // A teacher whose output does not match the student's: refused before any step.
    try cli.refused(
      ["finetune", "mlp.onnx", "--data", Self.mnist, "--limit", "64", "--teacher", "resblock.onnx", "-q", "-o", "x.onnx"],
      in: w, status: 1, ["teacher"], noOutput: "x.onnx")
  }
}
