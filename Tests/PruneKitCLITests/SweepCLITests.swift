import Foundation
import PruneKit
import Testing

/// `prunekit sweep` end to end on the MLP fixture and 200 MNIST test images: cells written, resumed,
/// redone when broken, the same bytes whichever order or thread count ran them; status, collect,
/// refusals; the emitted Slurm script and Kubernetes manifest against golden files.
@Suite(.serialized) struct SweepCLITests {
  static let mnist = CLI.packageRoot + "/Data/mnist"
  static let golden = CLI.packageRoot + "/Tests/Golden/sweep"

  final class Workspace {
    let path: String
    init() throws {
      path = try CLI.temporaryFolder()
      for name in ["mlp.onnx", "resblock.onnx"] {
        try FileManager.default.copyItem(atPath: CLI.fixtures + "/" + name, toPath: path + "/" + name)
      }
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func read(_ name: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path + "/" + name)) }
    func write(_ text: String, to name: String) throws {
      try Data(text.utf8).write(to: URL(fileURLWithPath: path + "/" + name))
    }
  }

  /// 2 methods × 2 sparsities = 4 cells.
  static let grid = [
    "--model", "mlp.onnx", "--methods", "magnitude,random", "--sparsities", "0.5,0.9", "--eval", mnist,
    "--eval-limit", "200",
  ]

  @discardableResult
  func run(_ arguments: [String], in w: Workspace, status: Int32 = 0) throws -> CLI.Result {
    let r = try CLI.run(arguments, in: w.path, timeout: 300)
    #expect(r.status == status, "\(arguments.joined(separator: " ")): status \(r.status)\n\(r.output)")
    return r
  }

  func statusJSON(_ dir: String, in w: Workspace) throws -> [String: Any] {
    let r = try run(["sweep", "status", dir, "--json"], in: w)
    let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
    #expect(object?["schema"] as? String == "prunekit.sweep.status")
    return try #require(object?["result"] as? [String: Any])
  }

  func states(_ status: [String: Any]) -> [String] {
    ((status["status"] as? [String: Any])?["cells"] as? [[String: Any]] ?? []).map { $0["state"] as? String ?? "?" }
  }

  @Test func sweepRunsResumesRedoesBrokenCellsAndCollectsTheSameBytes() throws {
    let w = try Workspace()
    try run(["sweep"] + Self.grid + ["-o", "a", "--quiet"], in: w)
    for cell in 0..<4 { #expect(FileManager.default.fileExists(atPath: "\(w.path)/a/cells/\(cell).json")) }
    let record = try RunRecord.read(from: "\(w.path)/a/cells/3.json")
    #expect(record.recipe?.method == "random" && record.recipe?.targetSparsity == 0.9)
    #expect(record.sweep?.cell == 3 && record.sweep?.cellCount == 4)
    #expect(record.model.sparsity > 0.85 && record.model.sparsity < 0.95, "\(record.model)")
    #expect(record.data?.sampleCount == 200 && record.accuracy != nil && record.agreement != nil)
    #expect(record.dense?.accuracy != nil && record.calibration?.bins.count == 15)
    try run(["sweep", "collect", "a", "-o", "a.json", "--quiet"], in: w)
    let complete = try w.read("a.json")

    // A rerun skips every finished cell.
    let again = try run(["sweep", "-o", "a", "--json"], in: w)
    #expect(again.stdout.components(separatedBy: "\"skipped\"").count == 5, "\(again.stdout)")

    // Broken files: corrupt, truncated, deleted, a leftover temporary file, another sweep's record.
    try w.write("garbage", to: "a/cells/0.json")
    let one = try w.read("a/cells/1.json")
    try one.prefix(100).write(to: URL(fileURLWithPath: w.path + "/a/cells/1.json"))
    try FileManager.default.removeItem(atPath: w.path + "/a/cells/2.json")
    var foreign = try RunRecord.read(from: "\(w.path)/a/cells/3.json")
    foreign.sweep?.specHash = String(repeating: "0", count: 64)
    try foreign.write(to: "\(w.path)/a/cells/3.json")
    let status = try statusJSON("a", in: w)
    #expect(states(status) == ["corrupt", "partial", "missing", "foreign"])
    #expect(status["array"] as? String == "0-3")
    let text = try run(["sweep", "status", "a"], in: w)
    #expect(text.stdout.contains("--array=0-3") && text.stdout.contains("resubmit: prunekit sweep -o a"))
    // Collect refuses the incomplete grid, naming the cells.
    let refused = try run(["sweep", "collect", "a"], in: w, status: 1)
    #expect(refused.stderr.contains("4 of 4 cells are not done (0-3)"), "\(refused.stderr)")

    // The rerun redoes exactly those, to the same bytes.
    try run(["sweep", "-o", "a", "--quiet"], in: w)
    #expect(states(try statusJSON("a", in: w)) == ["done", "done", "done", "done"])
    try run(["sweep", "collect", "a", "-o", "a2.json", "--quiet"], in: w)
    #expect(try w.read("a2.json") == complete)

    // Interrupted and out of order, on another thread count: the same results, byte for byte.
    try run(["sweep"] + Self.grid + ["-o", "b", "--cell", "2", "--threads", "1", "--quiet"], in: w)
    #expect(states(try statusJSON("b", in: w)) == ["missing", "missing", "done", "missing"])
    try run(["sweep", "-o", "b", "--cell", "0", "--threads", "1", "--quiet"], in: w)
    try run(["sweep", "-o", "b", "--threads", "1", "--quiet"], in: w)
    try run(["sweep", "collect", "b", "-o", "b.json", "--quiet"], in: w)
    #expect(try w.read("b.json") == complete)
    let table = try run(["sweep", "collect", "b"], in: w)
    #expect(table.stdout.contains("random") && table.stdout.contains("90.00%"), "\(table.stdout)")
  }

  @Test func aDifferentSpecIntoTheSameFolderIsRefused() throws {
    let w = try Workspace()
    try run(["sweep"] + Self.grid + ["-o", "a", "--cell", "0", "--quiet"], in: w)
    var other = Self.grid
    other[other.firstIndex(of: "0.5,0.9")!] = "0.5,0.8"
    let r = try run(["sweep"] + other + ["-o", "a"], in: w, status: 1)
    #expect(r.stderr.hasPrefix("error: ") && r.stderr.contains("a/sweep.json holds another sweep"), "\(r.stderr)")
    #expect(r.stderr.contains("sparsities [0.5, 0.9] → [0.5, 0.8]"), "\(r.stderr)")
    #expect(!FileManager.default.fileExists(atPath: w.path + "/a/cells/1.json"))
  }

  @Test func aCellThatFailsIsRecordedAndTheOthersStillRun() throws {
    let w = try Workspace()
    // resblock reads 16×16 images, not MNIST's 28×28: every cell fails at evaluation, the reason kept.
    let r = try run(
      ["sweep", "--model", "resblock.onnx", "--methods", "magnitude", "--sparsities", "0.5,0.7", "--eval",
       Self.mnist, "--eval-limit", "50", "-o", "r", "--quiet"], in: w, status: 1)
    #expect(r.stderr.contains("2 cell(s) failed (0-1)"), "\(r.stderr)")
    let status = try statusJSON("r", in: w)
    #expect(states(status) == ["failed", "failed"])
    let detail = ((status["status"] as? [String: Any])?["cells"] as? [[String: Any]])?.first?["detail"] as? String
    #expect(detail?.contains("16×16") == true, "\(detail ?? "nil")")
    #expect(FileManager.default.fileExists(atPath: w.path + "/r/cells/0.failed.json"))
  }

  @Test func refusalsNameTheOption() throws {
    let w = try Workspace()
    let cases: [([String], Int32, String)] = [
      (["sweep", "-o", "none"], 1, "none/sweep.json"),
      (["sweep", "--model", "mlp.onnx", "--sparsities", "0.5", "--eval", "d", "-o", "x"], 64, "--methods"),
      (["sweep"] + Self.grid.map { $0 == "magnitude,random" ? "magnitude,nope" : $0 } + ["-o", "x"], 64, "--methods nope"),
      (["sweep"] + Self.grid.map { $0 == "0.5,0.9" ? "0.5,1.5" : $0 } + ["-o", "x"], 64, "--sparsities"),
      (["sweep", "-o", "x", "--methods", "magnitude"], 64, "--methods"),
      (["sweep"] + Self.grid + ["-o", "x", "--emit", "slurm", "--cell", "1"], 64, "--cell"),
      (["sweep"] + Self.grid + ["-o", "x", "--emit", "pbs"], 64, "--emit pbs"),
      (["sweep"] + Self.grid + ["-o", "x", "--emit", "slurm", "--image", "i"], 64, "--image"),
      (["sweep"] + Self.grid + ["-o", "x", "--emit", "kubernetes", "--partition", "p"], 64, "--partition"),
      (["sweep"] + Self.grid + ["-o", "x", "--emit", "slurm", "--mem", "lots"], 64, "--mem lots"),
      (["sweep"] + Self.grid + ["-o", "x", "--emit", "slurm", "--time", "1:2:3:4"], 64, "--time"),
      (["sweep"] + Self.grid + ["-o", "x", "--parallel", "4"], 64, "--parallel"),
      (["sweep"] + Self.grid + ["-o", "x", "--lr", "0.1"], 64, "--lr"),
      (["sweep"] + Self.grid + ["-o", "x", "--cell", "4"], 1, "--cell 4: this sweep has cells 0...3"),
      (["sweep"] + Self.grid + ["-o", "mlp.onnx"], 64, "-o mlp.onnx"),
      (["sweep", "status", "none"], 1, "none/sweep.json"),
    ]
    for (arguments, status, fragment) in cases {
      let r = try run(arguments, in: w, status: status)
      #expect(r.stderr.hasPrefix("error: ") && r.stderr.contains(fragment), "\(arguments): \(r.stderr)")
      #expect(!r.stderr.contains("Fatal error"))
    }
  }

  /// The commands of scripts/make_sweep_golden.sh, which wrote the golden files.
  @Test func emittedJobsMatchTheGoldenFiles() throws {
    let w = try Workspace()
    let grid = [
      "--model", "models/lenet300.onnx", "--methods", "magnitude,random", "--sparsities", "0.5,0.7,0.8,0.9",
      "--eval", "data/mnist",
    ]
    let common = ["--parallel", "4", "--cpus-per-task", "2", "--mem", "2G", "--time", "00:30:00"]
    let slurm = try run(["sweep"] + grid + ["--emit", "slurm"] + common + ["--partition", "cpu", "-o", "sweeps/lenet"], in: w)
    #expect(slurm.stdout.contains("submit: sbatch sweeps/lenet/sweep.sbatch"), "\(slurm.stdout)")
    try run(
      ["sweep"] + grid + ["--emit", "kubernetes"] + common
        + ["--image", "registry.example.com/prunekit:0.2.0", "--volume-claim", "sweeps", "--mount-path", "/work",
           "-o", "sweeps/lenet"], in: w)
    for name in ["sweep.sbatch", "sweep-job.yaml", "sweep.json"] {
      let made = try String(decoding: w.read("sweeps/lenet/" + name), as: UTF8.self)
      let expected = try String(contentsOfFile: Self.golden + "/" + name, encoding: .utf8)
      #expect(made == expected, "\(name) differs from Tests/Golden/sweep/\(name) (scripts/make_sweep_golden.sh)")
    }
    #expect(FileManager.default.fileExists(atPath: w.path + "/sweeps/lenet/logs"))
    // Status of an emitted, unrun sweep: everything missing, the sbatch resubmission line.
    let status = try run(["sweep", "status", "sweeps/lenet"], in: w)
    #expect(status.stdout.contains("--array=0-7"), "\(status.stdout)")
    #expect(status.stdout.contains("resubmit: sbatch --array=0-7 sweeps/lenet/sweep.sbatch"), "\(status.stdout)")
  }
}
