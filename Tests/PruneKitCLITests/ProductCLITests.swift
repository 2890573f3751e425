import Foundation
import PruneKit
import Testing

/// Issue 16 end to end: the built `prunekit` as one product. Every defect the issue lists has a case
/// here: success paths parse what the command printed or wrote; failure paths check the exit status,
/// that the message names the file or option, and that nothing is left at the destination.
@Suite(.serialized) struct ProductCLITests {
  /// A fresh folder with the MLP, the residual block and their reference inputs.
  final class Workspace {
    let path: String
    init() throws {
      path = try CLI.temporaryFolder()
      for name in ["mlp.onnx", "mlp.io.safetensors", "resblock.onnx"] {
        try FileManager.default.copyItem(atPath: CLI.fixtures + "/" + name, toPath: path + "/" + name)
      }
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path + "/" + name) }
    func size(_ name: String) throws -> Int {
      try FileManager.default.attributesOfItem(atPath: path + "/" + name)[.size] as! Int
    }
  }

  static let miniLM = CLI.packageRoot + "/../shared/models/all-MiniLM-L6-v2"

  /// Runs and expects success.
  @discardableResult
  func ok(_ arguments: [String], in w: Workspace, timeout: TimeInterval = 120) throws -> CLI.Result {
    let r = try CLI.run(arguments, in: w.path, timeout: timeout)
    #expect(r.status == 0, "\(arguments.joined(separator: " ")): status \(r.status)\n\(r.output)")
    return r
  }

  /// Runs and expects a refusal with `status`, every fragment in the message (prefixed `error: `),
  /// and `noOutput` absent afterwards.
  func refused(
    _ arguments: [String], in w: Workspace, status: Int32 = 64, _ fragments: [String], noOutput: String? = nil
  ) throws {
    let r = try CLI.run(arguments, in: w.path)
    #expect(r.status == status, "\(arguments.joined(separator: " ")): status \(r.status)\n\(r.output)")
    #expect(r.stderr.hasPrefix("error: "), "\(r.stderr)")
    for fragment in fragments { #expect(r.stderr.contains(fragment), "missing '\(fragment)' in: \(r.stderr)") }
    #expect(!r.stderr.contains("Fatal error"))
    if let noOutput { #expect(!w.exists(noOutput), "\(noOutput) was written") }
    #expect(!CLI.listing(w.path).contains { $0.contains(".prunekit-tmp-") }, "temporary file left behind")
  }

  /// The JSON object a `--json` run printed, with its envelope checked.
  func json(_ r: CLI.Result, schema: String) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
    let envelope = try #require(object, "not a JSON object: \(r.stdout.prefix(300))")
    #expect(envelope["schema"] as? String == "prunekit.\(schema)")
    #expect(envelope["schema_version"] as? Int == 1)
    #expect(Self.keysAreSnakeCase(envelope), "camelCase key in \(r.stdout.prefix(400))")
    return try #require(envelope["result"] as? [String: Any] ?? (envelope["result"].map { ["list": $0] }))
  }

  /// Every key in every nested object is snake_case (no capital letters), except map keys that are
  /// data (layer and tensor names, which are listed under known map fields).
  static func keysAreSnakeCase(_ value: Any, path: String = "") -> Bool {
    let dataMaps = ["modelled", "constants", "domains", "sparsities", "input_shapes", "gflops"]
    if let object = value as? [String: Any] {
      for (key, child) in object {
        let isDataMap = dataMaps.contains(where: { path.hasSuffix("." + $0) })
        if !isDataMap && key.contains(where: \.isUppercase) { return false }
        if !keysAreSnakeCase(child, path: path + "." + key) { return false }
      }
    } else if let array = value as? [Any] {
      return array.allSatisfy { keysAreSnakeCase($0, path: path) }
    }
    return true
  }

  // MARK: - The README's flag, the shared vocabulary, errors

  @Test func readmePrintGroupsFlagAndStructuredSummary() throws {
    let w = try Workspace()
    let r = try ok(
      ["prune", "resblock.onnx", "--structured", "channels", "--ratio", "0.5", "--print-groups", "-o", "r.onnx"],
      in: w)
    #expect(r.stdout.contains("group #"), "\(r.stdout)")
    // The summary says which channels went from which layer, and no layer claims 100 % kept.
    #expect(r.stdout.contains("removed per group"), "\(r.stdout)")
    let removal = try #require(r.stdout.split(separator: "\n").first { $0.contains("channels") && $0.contains("→") })
    #expect(removal.contains("removed ["), "\(removal)")
    let graph = try ModelFile.load(w.path + "/r.onnx")
    #expect(graph.initializers.values.reduce(0) { $0 + $1.count } < 8_869)
    let json = try self.json(
      try ok(["prune", "resblock.onnx", "--structured", "channels", "--ratio", "0.5", "--json", "-o", "r2.onnx"], in: w),
      schema: "prune")
    let removals = try #require(json["removals"] as? [[String: Any]])
    #expect(!removals.isEmpty)
    for item in removals {
      let before = try #require(item["before"] as? Int)
      let after = try #require(item["after"] as? Int)
      #expect((item["removed"] as? [Int])?.count == before - after)
    }
  }

  @Test func versionAndErrorStyle() throws {
    let w = try Workspace()
    for arguments in [["--version"], ["version"]] {
      let r = try ok(arguments, in: w)
      #expect(r.stdout.hasPrefix("prunekit 0.") && r.stdout.split(separator: "\n").count == 1, "\(r.stdout)")
    }
    // A file that is not there: the work failed (1), the message names the file.
    try refused(["inspect", "missing.onnx"], in: w, status: 1, ["missing.onnx"])
    // A bad option: usage (64), the subcommand's help named, never `prunekit <subcommand>`.
    let r = try CLI.run(["energy", "mlp.onnx", "--report", "r.pdf"], in: w.path)
    #expect(r.status == 64)
    #expect(r.stderr.hasPrefix("error: --report r.pdf"), "\(r.stderr)")
    #expect(r.stderr.contains("see 'prunekit energy --help'") && !r.stderr.contains("<subcommand>"), "\(r.stderr)")
    #expect(r.stdout.isEmpty, "measured before refusing: \(r.stdout)")
    #expect(!w.exists("r.pdf"))
    // An unknown option.
    try refused(["inspect", "mlp.onnx", "--frobnicate"], in: w, ["--frobnicate"])
  }

  @Test func quietLeavesOnlyResultsAndThreadsAreAccepted() throws {
    let w = try Workspace()
    let r = try ok(["run", "mlp.onnx", "--random", "--batch", "2", "--threads", "1", "--quiet"], in: w)
    #expect(r.stderr.isEmpty, "\(r.stderr)")
    #expect(r.stdout.contains("1 thread(s)"), "\(r.stdout)")
    let verbose = try ok(["run", "mlp.onnx", "--random", "--threads", "2", "--verbose"], in: w)
    #expect(verbose.stderr.contains("command: prunekit run mlp.onnx") && verbose.stderr.contains("threads: 2"))
    #expect(verbose.stderr.contains("done in "), "\(verbose.stderr)")
    try refused(["run", "mlp.onnx", "--random", "--quiet", "--verbose"], in: w, ["--quiet and --verbose"])
    try refused(["run", "mlp.onnx", "--random", "--threads", "0"], in: w, ["--threads 0"])
  }

  // MARK: - Options that were silently ignored are errors

  struct Refusal: CustomTestStringConvertible, Sendable {
    var arguments: [String]
    var status: Int32 = 64
    var fragments: [String]
    var noOutput: String? = nil
    var testDescription: String { arguments.joined(separator: " ") }
  }

  static let refusals: [Refusal] = [
    .init(arguments: ["prune", "mlp.onnx", "--pattern", "2:4", "--block", "4x4", "-o", "p.onnx"],
      fragments: ["--block and --pattern", "conflict"], noOutput: "p.onnx"),
    .init(arguments: ["prune", "mlp.onnx", "--structured", "channels", "--sparsity", "0.9", "-o", "p.onnx"],
      fragments: ["--sparsity", "--ratio"], noOutput: "p.onnx"),
    .init(arguments: ["prune", "mlp.onnx", "--ratio", "0.3", "-o", "p.onnx"], fragments: ["--ratio", "--structured"],
      noOutput: "p.onnx"),
    .init(arguments: ["prune", "mlp.onnx", "--rounds", "3", "-o", "p.onnx"], fragments: ["--rounds", "iterative"],
      noOutput: "p.onnx"),
    .init(arguments: ["prune", "mlp.onnx", "--data", "Data/mnist", "-o", "p.onnx"], fragments: ["--data", "taylor"]),
    .init(arguments: ["prune", "mlp.onnx", "--method", "wanda2", "-o", "p.onnx"], fragments: ["--method wanda2"]),
    .init(arguments: ["prune", "mlp.onnx", "--sparsity", "0.5", "-o", "p"], fragments: ["-o p", "Hugging Face folder"]),
    .init(arguments: ["prune", "mlp.onnx", "--ignore", "no.such.layer", "-o", "p.onnx"],
      fragments: ["--ignore no.such.layer"], noOutput: "p.onnx"),
    .init(arguments: ["compress", "mlp.onnx", "--scheme", "int8", "--bits", "fc=4", "-o", "c.pkz"],
      fragments: ["--bits", "kmeans"], noOutput: "c.pkz"),
    .init(arguments: ["inspect", "mlp.onnx", "--dim", "foo=3"], fragments: ["--dim foo=3", "no symbolic dimension 'foo'", "'batch'"]),
    .init(arguments: ["convert", "mlp.onnx", "-o", "x.pt"], fragments: ["-o x.pt", ".onnx", "'.pt'"], noOutput: "x.pt"),
    .init(arguments: ["energy", "mlp.onnx", "--csv", "e.txt"], fragments: ["--csv e.txt", ".csv"], noOutput: "e.txt"),
    .init(arguments: ["run", "mlp.onnx", "--random", "--input", "mlp.io.safetensors"], fragments: ["--input and --random"]),
    .init(arguments: ["run", "mlp.onnx", "--batch", "2", "--input", "mlp.io.safetensors"], fragments: ["--batch", "--random"]),
    .init(arguments: ["run", "mlp.onnx"], fragments: ["--input", "--random", "--text"]),
    .init(arguments: ["run", "mlp.onnx", "--text", "hello"], fragments: ["--text", "input_ids"]),
    .init(arguments: ["sensitivity", "mlp.onnx", "--by", "macs"], fragments: ["--by", "--target"]),
  ]

  @Test(arguments: refusals)
  func inapplicableOrConflictingOptionsAreErrors(_ c: Refusal) throws {
    let w = try Workspace()
    try refused(c.arguments, in: w, status: c.status, c.fragments, noOutput: c.noOutput)
  }

  // MARK: - Formats round-trip

  @Test func convertReadsPKZAndSafetensorsOfAnyModelReadBack() throws {
    let w = try Workspace()
    try ok(["prune", "mlp.onnx", "--sparsity", "0.9", "-o", "p.onnx"], in: w)
    try ok(["compress", "p.onnx", "-o", "p.pkz"], in: w)
    let converted = try self.json(try ok(["convert", "p.pkz", "-o", "from-pkz.onnx", "--json"], in: w), schema: "convert")
    #expect(converted["nodes"] as? Int == (try ModelFile.load(w.path + "/p.onnx")).nodes.count)
    // .safetensors of a model that is not BERT (no config.json anywhere) reads back, and runs alike.
    try ok(["convert", "p.onnx", "-o", "p.safetensors"], in: w)
    let back = try ModelFile.load(w.path + "/p.safetensors")
    let original = try ModelFile.load(w.path + "/p.onnx")
    #expect(back.initializers == original.initializers)
    try ok(["run", "p.safetensors", "--input", "mlp.io.safetensors", "-o", "a.safetensors"], in: w)
    try ok(["run", "p.onnx", "--input", "mlp.io.safetensors", "-o", "b.safetensors"], in: w)
    let a = try SafeTensorsFile(path: w.path + "/a.safetensors").allTensors()
    let b = try SafeTensorsFile(path: w.path + "/b.safetensors").allTensors()
    #expect(a == b)
    for command in [["inspect", "p.safetensors"], ["convert", "p.safetensors", "-o", "again.onnx"]] {
      try ok(command, in: w)
    }
  }

  @Test func prunedSafetensorsStoresNoFloatMasks() throws {
    let w = try Workspace()
    try ok(["prune", "mlp.onnx", "--sparsity", "0.9", "-o", "p.safetensors"], in: w)
    let file = try SafeTensorsFile(path: w.path + "/p.safetensors")
    #expect(!file.names.contains { $0.hasSuffix(".mask") }, "\(file.names)")
    // Weights only: the file is about the size of the dense Float32 parameters, not 1.5× with masks.
    let graph = try ModelFile.load(w.path + "/mlp.onnx")
    let weightBytes = graph.initializers.values.reduce(0) { $0 + $1.count * 4 }
    #expect(try w.size("p.safetensors") < weightBytes + 64 * 1024)
    // The masks come back, implied by the zeros.
    let back = try ModelFile.load(w.path + "/p.safetensors")
    #expect(!back.masks.isEmpty)
    for (name, mask) in back.masks {
      let weight = back.initializers[name]!.floats
      #expect(zip(weight, mask.floats).allSatisfy { ($0 != 0) == ($1 != 0) })
    }
    let summary = try self.json(try ok(["inspect", "p.safetensors", "--json"], in: w), schema: "inspect")
    let totals = try #require((summary["costs"] as? [String: Any])?["totals"] as? [String: Any])
    #expect((totals["sparsity"] as? Double ?? 0) > 0.8)
  }

  @Test func inspectShowsCompressedSizesOfAPKZ() throws {
    let w = try Workspace()
    try ok(["prune", "mlp.onnx", "--sparsity", "0.9", "-o", "p.onnx"], in: w)
    let compress = try self.json(try ok(["compress", "p.onnx", "-o", "p.pkz", "--json"], in: w), schema: "compress")
    let result = try self.json(try ok(["inspect", "p.pkz", "--json"], in: w), schema: "inspect")
    let compressed = try #require(result["compressed"] as? [String: Any])
    let layers = try #require(compressed["layers"] as? [[String: Any]])
    #expect(!layers.isEmpty)
    var sum = (compressed["graph_bytes"] as! Int) + (compressed["framing_bytes"] as! Int)
    for layer in layers {
      sum += layer["bytes_on_disk"] as! Int
      #expect((layer["bytes_on_disk"] as! Int) < (layer["dense_bytes"] as! Int))
      #expect((layer["codebook_bits"] as? Int) == 5)
    }
    #expect(sum == (try w.size("p.pkz")))
    #expect(compressed["file_bytes"] as? Int == compress["file_bytes"] as? Int)
    let text = try ok(["inspect", "p.pkz"], in: w).stdout
    #expect(text.contains("compressed (p.pkz") && text.contains("index B"), "\(text)")
  }

  @Test func inspectSizesSymbolicAxesLikeEnergy() throws {
    let w = try Workspace()
    let model = CLI.packageRoot + "/../shared/models/all-MiniLM-L6-v2/onnx/model.onnx"
    let atDefault = try self.json(try ok(["inspect", model, "--json"], in: w), schema: "inspect")
    let shapes = try #require((atDefault["costs"] as? [String: Any])?["input_shapes"] as? [String: [Int]])
    #expect(shapes["input_ids"] == [1, 64])
    let at128 = try self.json(try ok(["inspect", model, "--json", "--sequence", "128"], in: w), schema: "inspect")
    let macs64 = ((atDefault["costs"] as? [String: Any])?["totals"] as? [String: Any])?["macs"] as? Int ?? 0
    let macs128 = ((at128["costs"] as? [String: Any])?["totals"] as? [String: Any])?["macs"] as? Int ?? 0
    #expect(macs64 > 600_000_000 && macs128 > 2 * macs64 - macs64 / 4, "\(macs64) \(macs128)")
  }

  // MARK: - Hugging Face folders

  @Test func prunedHuggingFaceFolderIsAFolderWithConfigWeightsAndTokenizer() throws {
    let w = try Workspace()
    try ok(["prune", Self.miniLM, "--sparsity", "0.5", "-o", "minilm-50"], in: w, timeout: 300)
    let names = CLI.listing(w.path + "/minilm-50")
    for name in ["config.json", "model.safetensors", "tokenizer.json", "vocab.txt"] {
      #expect(names.contains(name), "\(names)")
    }
    #expect(!names.contains("onnx") && !names.contains("reference.json"))
    // Written again over itself (the copies of read-only shared files included): replaced whole,
    // nothing left beside it.
    try ok(["prune", Self.miniLM, "--sparsity", "0.6", "-o", "minilm-50"], in: w, timeout: 300)
    #expect(CLI.listing(w.path).filter { $0.hasPrefix(".") }.isEmpty, "\(CLI.listing(w.path))")
    // No Float32 masks: about the source's 90.9 MB, not 132.7 MB.
    let source = try FileManager.default.attributesOfItem(atPath: Self.miniLM + "/model.safetensors")[.size] as! Int
    #expect(try w.size("minilm-50/model.safetensors") < source + source / 50)
    let file = try SafeTensorsFile(path: w.path + "/minilm-50/model.safetensors")
    #expect(file.metadata["format"] == "pt" && !file.names.contains { $0.hasSuffix(".mask") })
    // It runs on text, from the folder, with its own tokenizer.
    let run = try self.json(
      try ok(["run", w.path + "/minilm-50", "--text", "a happy tweet", "--text", "a sad one", "--json"], in: w),
      schema: "run")
    let outputs = try #require(run["outputs"] as? [[String: Any]])
    #expect((outputs.first?["shape"] as? [Int])?.first == 2)
    #expect((run["latency_ms"] as? Double ?? 0) > 0)
  }

  @Test func structuredHeadsOnTheSafetensorsFolderWithIgnore() throws {
    let w = try Workspace()
    let r = try ok(
      ["prune", Self.miniLM, "--structured", "heads", "--ratio", "0.25", "--ignore", "encoder.layer.0", "--json",
       "-o", "heads"], in: w, timeout: 300)
    let summary = try self.json(r, schema: "prune")
    let removals = try #require(summary["removals"] as? [[String: Any]])
    #expect(removals.count == 5, "layer 0 is ignored: \(removals.count) groups cut")
    for item in removals {
      #expect(item["unit"] as? String == "heads")
      #expect(item["before"] as? Int == 12 && item["after"] as? Int == 9)
      #expect(!(item["layer"] as? String ?? "").hasPrefix("encoder.layer.0."))
    }
    #expect((summary["ignored_groups"] as? [String])?.count == 1)
    // config.json says which heads went, as transformers' pruned_heads.
    let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: w.path + "/heads/config.json")))
    let pruned = try #require((config as? [String: Any])?["pruned_heads"] as? [String: [Int]])
    #expect(pruned.keys.sorted() == ["1", "2", "3", "4", "5"] && pruned.values.allSatisfy { $0.count == 3 })
    // The folder reads back as the smaller model.
    let back = try ModelFile.load(w.path + "/heads")
    #expect(back.initializers["encoder.layer.1.attention.self.query.weight"]?.shape == [288, 384])
    #expect(back.initializers["encoder.layer.0.attention.self.query.weight"]?.shape == [384, 384])
  }

  @Test func structuredTargetByMACs() throws {
    let w = try Workspace()
    let before = try ModelFile.load(w.path + "/resblock.onnx")
    let macsBefore = try before.costs(inputShapes: before.inputShapes()).totals.macs
    let summary = try self.json(
      try ok(["prune", "resblock.onnx", "--structured", "channels", "--target-macs", "0.5", "--json", "-o", "t.onnx"], in: w),
      schema: "prune")
    let after = try ModelFile.load(w.path + "/t.onnx")
    let macsAfter = try after.costs(inputShapes: after.inputShapes()).totals.macs
    #expect(Double(macsAfter) <= 0.5 * Double(macsBefore) + 1, "\(macsBefore) → \(macsAfter)")
    #expect((summary["structured_ratio"] as? Double ?? 0) > 0)
    try refused(
      ["prune", "resblock.onnx", "--structured", "channels", "--ratio", "0.5", "--target-macs", "0.5", "-o", "u.onnx"],
      in: w, ["--ratio and --target-macs"], noOutput: "u.onnx")
  }

  // MARK: - Measurements with spread, energy CSV

  @Test func energyJSONHasNumbersSpreadAndTheCSVAppends() throws {
    let w = try Workspace()
    try FileManager.default.copyItem(atPath: w.path + "/mlp.onnx", toPath: w.path + "/same.onnx")
    let arguments = [
      "energy", "mlp.onnx", "same.onnx", "--runs", "2", "--repeats", "3", "--min-seconds", "0", "--csv", "e.csv",
    ]
    let result = try self.json(try ok(arguments + ["--json"], in: w), schema: "energy")
    let models = try #require(result["models"] as? [[String: Any]])
    #expect(models.count == 2)
    let repeats = try #require(models[0]["repeats"] as? [String: Any])
    #expect((repeats["samples"] as? [Double])?.count == 3)
    #expect(repeats["median"] is Double && repeats["p10"] is Double && repeats["p90"] is Double)
    #expect((models[0]["per_inference"] as? [String: Any])?["joules"] is Double)
    let ratios = try #require(result["ratios"] as? [[String: Any]])
    let run = try #require(ratios.first { ($0["method"] as? String ?? "").hasSuffix("(run)") })
    #expect(run["value"] is Double && run["no_measurable_difference"] is Bool)
    let text = try ok(arguments, in: w).stdout
    #expect(text.contains("p10–p90") && text.contains("repeats"), "\(text)")
    // Two runs appended to one emissions.csv: one header, four rows, one run_id per invocation.
    let csv = try String(contentsOfFile: w.path + "/e.csv", encoding: .utf8).split(separator: "\n")
    #expect(csv.count == 5, "\(csv)")
    #expect(csv.filter { $0.hasPrefix("timestamp,") }.count == 1)
    let runIDColumn = csv[0].split(separator: ",").firstIndex(of: "run_id")!
    let ids = csv.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false)[runIDColumn] }
    #expect(Set(ids).count == 2 && ids.allSatisfy { $0.count == 36 }, "\(ids)")
    // A CSV that is not ours is refused before the measurement.
    try Data("a,b\n1,2\n".utf8).write(to: URL(fileURLWithPath: w.path + "/other.csv"))
    try refused(["energy", "mlp.onnx", "--csv", "other.csv"], in: w, ["--csv other.csv", "header"])
  }

  @Test func sensitivitySaysWhatTheAllocationOptimised() throws {
    let w = try Workspace()
    let r = try ok(
      ["sensitivity", "mlp.onnx", "--data", CLI.packageRoot + "/Data/mnist", "--limit", "100", "--sparsities",
       "0,0.5,0.9", "--target", "0.5"], in: w)
    #expect(r.stdout.contains("least summed predicted accuracy loss") && r.stdout.contains("reached"), "\(r.stdout)")
    let json = try self.json(
      try ok(
        ["sensitivity", "mlp.onnx", "--data", CLI.packageRoot + "/Data/mnist", "--limit", "100", "--sparsities",
         "0,0.5,0.9", "--target", "0.5", "--by", "macs", "--json"], in: w), schema: "sensitivity")
    let allocation = try #require(json["allocation"] as? [String: Any])
    #expect(allocation["by"] as? String == "macs" && (allocation["achieved"] as? Double ?? 0) >= 0.5)
  }

  @Test func benchMiniLMNamesAMissingPeerScript() throws {
    let w = try Workspace()
    let model = CLI.packageRoot + "/../shared/models/all-MiniLM-L6-v2/onnx/model.onnx"
    let r = try ok(
      ["bench", "minilm", "--model", model, "--batch", "1", "--sequence", "8", "--repeats", "2", "--peer", "nope.py"],
      in: w)
    #expect(r.stdout.contains("peer script nope.py not found"), "\(r.stdout)")
    #expect(!r.stdout.contains("not installed"))
  }

  // MARK: - demo

  /// A tiny demo (500 training images, one epoch, one round): the JSON says what each stage's file
  /// weighs on disk, and the final file is there with that size.
  @Test func demoPrintsJSONWithTheStageSizes() throws {
    let w = try Workspace()
    let r = try ok(
      ["demo", "--data", CLI.packageRoot + "/Data/mnist", "--train-limit", "500", "--epochs", "1", "--rounds", "1",
       "--retrain-epochs", "0", "--fine-tune-steps", "0", "--cache", "cache", "-o", "out", "--json", "--quiet"],
      in: w, timeout: 300)
    let result = try self.json(r, schema: "demo")
    let huffman = try #require(result["huffman_bytes"] as? Int)
    #expect((result["dense_bytes"] as? Int ?? 0) > huffman && huffman > 0)
    #expect(try w.size("out/lenet300.pkz") == huffman)
    #expect((result["compressed"] as? [String: Any])?["file_bytes"] as? Int == huffman)
    #expect(r.stderr.isEmpty, "--quiet: \(r.stderr.prefix(300))")
    // The demo ends with its report: a run record per stage and the page.
    #expect((result["report"] as? String)?.hasSuffix("out/report.html") == true)
    #expect((result["runs"] as? [Any])?.count == 4)
    let page = try String(contentsOfFile: w.path + "/out/report.html", encoding: .utf8)
    #expect(page.contains("Pareto front") && page.contains("Huffman .pkz"))
    #expect(FileManager.default.fileExists(atPath: w.path + "/out/lenet300-huffman.run.json"))
  }

  // MARK: - run

  @Test func runMakesSeededRandomInputsAndPrintsLatency() throws {
    let w = try Workspace()
    let a = try ok(["run", "mlp.onnx", "--random", "--batch", "3", "--seed", "5", "-o", "a.safetensors"], in: w)
    #expect(a.stdout.contains("latency: "), "\(a.stdout)")
    try ok(["run", "mlp.onnx", "--random", "--batch", "3", "--seed", "5", "-o", "b.safetensors"], in: w)
    try ok(["run", "mlp.onnx", "--random", "--batch", "3", "--seed", "6", "-o", "c.safetensors"], in: w)
    let read = { (name: String) in try SafeTensorsFile(path: w.path + "/" + name).allTensors() }
    #expect(try read("a.safetensors") == read("b.safetensors"))
    #expect(try read("a.safetensors") != read("c.safetensors"))
    #expect(try read("a.safetensors").values.first?.shape.first == 3)
  }

  // MARK: - Help

  /// Every subcommand's help: no line over 100 columns, at least one worked example.
  @Test(arguments: [
    [], ["version"], ["prune"], ["sensitivity"], ["train"], ["energy"], ["compress"], ["decompress"], ["demo"],
    ["convert"], ["inspect"], ["run"], ["bench"], ["bench", "model"], ["bench", "kernels"], ["bench", "minilm"],
    ["bench", "train-step"], ["quantize"], ["eval-embeddings"], ["finetune"], ["eval"], ["report"], ["sweep"],
    ["sweep", "run"], ["sweep", "status"], ["sweep", "collect"], ["plan"],
  ])
  func helpIsWrappedAndHasExamples(_ command: [String]) throws {
    let w = try Workspace()
    let r = try ok(command + ["--help"], in: w)
    let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false)
    for line in lines { #expect(line.count <= 100, "\(line.count) columns: \(line)") }
    if !command.isEmpty {
      #expect(r.stdout.contains("Examples:"), "\(r.stdout)")
      let example = lines.first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("prunekit \(command[0])") }
      #expect(example != nil, "no example line in \(r.stdout)")
      // Examples are whole commands: none is wrapped onto a second line.
      let start = lines.firstIndex { $0.trimmingCharacters(in: .whitespaces) == "Examples:" } ?? lines.endIndex
      for line in lines[start...].dropFirst().prefix(while: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }) {
        #expect(line.trimmingCharacters(in: .whitespaces).hasPrefix("prunekit "), "wrapped example: \(line)")
      }
    }
    // A default is printed once, by the parser.
    for line in lines where line.contains("(default: ") {
      #expect(line.components(separatedBy: "default").count <= 2, "default twice: \(line)")
    }
  }
}
