import ArgumentParser
import Foundation
import PruneKit

/// `prunekit sweep …`: a grid of prune + evaluate runs, one JSON file per cell, resumable, runnable
/// one cell at a time (`--cell N`) and on Slurm / Kubernetes (`--emit`). `sweep status` and
/// `sweep collect` read the folder.
struct SweepCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sweep",
    abstract: "Prune × evaluate over a grid of methods, sparsities and patterns; resumable; cluster jobs.",
    discussion: """
      Each cell (method, pattern, sparsity) prunes the model, optionally fine-tunes it, evaluates it \
      beside the dense model and writes DIR/cells/<i>.json atomically, carrying the hash of the spec \
      in DIR/sweep.json. A rerun skips finished cells and redoes broken ones; --cell N runs one cell \
      alone (what a cluster task runs); a different spec into the same DIR is refused. --emit slurm \
      | kubernetes writes a job array / Indexed Job instead of running (docs/sweep.md, docs/cluster.md).

      Examples:
        prunekit sweep --model m.onnx --methods random --sparsities .5 --eval d -o s
        prunekit sweep -o s --cell 3
        prunekit sweep -o s --emit slurm --parallel 8 --time 00:30:00
        prunekit sweep -o s --emit kubernetes --image prunekit:0.2.0
        prunekit sweep status s
        prunekit sweep collect s -o results.json
      """,
    subcommands: [SweepRunCommand.self, SweepStatusCommand.self, SweepCollectCommand.self],
    defaultSubcommand: SweepRunCommand.self)
}

/// `prunekit sweep [run] …`: makes (or resumes) the sweep in DIR and runs its cells, or emits a job.
struct SweepRunCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run",
    abstract: "Run a sweep's cells (the default), or write a Slurm / Kubernetes job for them (--emit).",
    usage: "prunekit sweep --model <m> --methods <a,b> --sparsities <x,y> --eval <d> -o <d> [<options>]",
    discussion: """
      Without --model, the sweep stored in DIR/sweep.json is resumed. Cells are numbered method by \
      method, pattern by pattern, sparsity by sparsity (an N:M pattern is one cell per method).

      Examples:
        prunekit sweep --model m.onnx --methods random --sparsities .9 --eval d -o s
        prunekit sweep run -o s --cell 0
      """)

  @Option(help: "The model every cell prunes (.onnx, .safetensors, .pkz); omit to resume DIR's sweep.")
  var model: String?
  @Option(help: "Importance criteria, comma-separated: magnitude, random, taylor, movement.") var methods: String?
  @Option(help: "Target sparsities, comma-separated, each in [0, 1), e.g. 0.5,0.7,0.9.") var sparsities: String?
  @Option(help: "Patterns, comma-separated: unstructured, N:M (2:4), block RxC (4x4) (default unstructured).")
  var patterns: String?
  @Option(help: "Threshold scope: layer | global (default layer).") var scope: String?
  @Option(help: "Evaluation data, as prunekit eval --data: an IDX folder, or FILE.csv:TEXT:LABEL[:ROWS].")
  var eval: String?
  @Option(help: "test | validation (the last 10% of the folder's training images) (default test).")
  var evalSplit: String?
  @Option(parsing: .unconditional, help: "Evaluate on the first N samples only.") var evalLimit: Int?
  @Option(help: "Groups, as prunekit eval: classes | column:NAME | rules:FILE (default classes).")
  var groups: String?
  @Option(help: "Robustness: corruption kinds, comma-separated, as prunekit eval (default none).")
  var corruptions: String?
  @Option(help: "Embedding models: keep rows whose numeric column passes, e.g. 'confidence>=0.6'.")
  var filter: String?
  @Option(parsing: .unconditional, help: "Embedding models: probe on an evenly spaced sample of N rows.")
  var probeSample: Int?
  @Option(help: "Training data (IDX folder) for taylor/movement gradients and --finetune.") var trainData: String?
  @Option(parsing: .unconditional, help: "Fine-tune each pruned model this many epochs, masks held.")
  var finetune: Int?
  @Option(parsing: .unconditional, help: "Fine-tuning learning rate (SGD, cosine; default 0.01).") var lr: Double?
  @Option(parsing: .unconditional, help: "Fine-tune on the first N training images only.") var trainLimit: Int?

  @Option(parsing: .unconditional, help: "Run this cell only (what a cluster task runs).") var cell: Int?
  @Flag(help: "Also write each cell's pruned model to DIR/models/<i>.onnx.") var keepModels = false

  @Option(help: "Write a cluster job instead of running: slurm (sbatch script) | kubernetes (Indexed Job).")
  var emit: String?
  @OptionGroup var job: SweepJobArguments

  @OptionGroup var seeds: SeedOption
  @OptionGroup var format: JSONOption
  @OptionGroup var verbosity: VerbosityOptions
  @OptionGroup var threads: ThreadsOption
  @Option(name: .shortAndLong, help: "The sweep folder (sweep.json, cells/, logs/).") var output: String

  /// Flags that describe the grid (only with --model).
  var gridFlags: [String: Bool] {
    [
      "--methods": methods != nil, "--sparsities": sparsities != nil, "--patterns": patterns != nil,
      "--scope": scope != nil, "--eval": eval != nil, "--eval-split": evalSplit != nil,
      "--eval-limit": evalLimit != nil, "--groups": groups != nil, "--corruptions": corruptions != nil,
      "--filter": filter != nil, "--probe-sample": probeSample != nil,
      "--train-data": trainData != nil, "--finetune": finetune != nil,
      "--lr": lr != nil, "--train-limit": trainLimit != nil,
    ]
  }

  func validate() throws {
    try OptionCheck.int(evalLimit, "--eval-limit", in: 1...Int(Int32.max))
    try OptionCheck.int(trainLimit, "--train-limit", in: 1...Int(Int32.max))
    try OptionCheck.int(finetune, "--finetune", in: 1...OptionCheck.maxEpochs)
    try OptionCheck.int(cell, "--cell", in: 0...Int(Int32.max))
    if let lr { try OptionCheck.learningRate(Float(lr), "--lr") }
    if model == nil {
      try OptionCheck.inapplicable(
        gridFlags.merging(["--seed": seeds.seed != SeedOption.defaultSeed]) { $0 || $1 },
        because: "without --model the sweep stored in \(output)/sweep.json is resumed (give --model to make one)")
    } else {
      for (flag, value) in [("--methods", methods), ("--eval", eval)] where value == nil {
        throw ValidationError("\(flag): required with --model (e.g. \(flag == "--eval" ? "--eval Data/mnist" : "--methods magnitude,random"))")
      }
      if finetune == nil {
        try OptionCheck.inapplicable(
          ["--lr": lr != nil, "--train-limit": trainLimit != nil], because: "they apply with --finetune")
      }
      do { try spec().validate() } catch let error as SweepError { throw ValidationError("\(error)") }
    }
    var isFolder: ObjCBool = false
    if FileManager.default.fileExists(atPath: output, isDirectory: &isFolder), !isFolder.boolValue {
      throw ValidationError("-o \(output): a file; expected a sweep folder (made if missing)")
    }
    if let emit {
      guard let kind = SweepJobArguments.Kind(rawValue: emit) else {
        throw ValidationError("--emit \(emit): expected slurm or kubernetes")
      }
      try OptionCheck.inapplicable(
        ["--cell": cell != nil, "--keep-models": keepModels], because: "--emit writes a job and runs no cell")
      try job.check(for: kind, directory: output)
    } else {
      try OptionCheck.inapplicable(job.given, because: "they describe the cluster job of --emit slurm|kubernetes")
    }
  }

  /// The spec the options describe (with --model).
  func spec() throws -> SweepSpec {
    func list(_ text: String?, _ flag: String) throws -> [String] {
      guard let text else { return [] }
      let items = text.split(separator: ",", omittingEmptySubsequences: false).map {
        $0.trimmingCharacters(in: .whitespaces)
      }
      if items.contains("") { throw ValidationError("\(flag) \(text): an empty item; expected a,b,c") }
      return items
    }
    let sparsityValues = try list(sparsities, "--sparsities").map { item -> Double in
      guard let value = Double(item) else {
        throw ValidationError("--sparsities \(sparsities ?? ""): '\(item)' is not a number; e.g. 0.5,0.7,0.9")
      }
      try OptionCheck.number(value, "--sparsities", in: 0...1, openUpper: true)
      return value
    }
    return SweepSpec(
      model: model ?? "", methods: try list(methods, "--methods"), sparsities: sparsityValues,
      patterns: patterns == nil ? ["unstructured"] : try list(patterns, "--patterns"), scope: scope ?? "layer",
      trainData: trainData,
      finetune: finetune.map { SweepSpec.Finetune(epochs: $0, learningRate: lr ?? 0.01, limit: trainLimit) },
      evaluation: SweepSpec.Evaluation(
        data: eval ?? "", split: evalSplit ?? "test", limit: evalLimit, groups: groups,
        corruptions: corruptions == nil ? nil : try list(corruptions, "--corruptions"), filter: filter,
        probeSample: probeSample),
      seed: seeds.seed)
  }

  struct Output: Encodable {
    var directory: String
    var specHash: String
    var cellCount: Int
    var outcomes: [SweepRunner.Outcome]
    var done: Int
    var notDone: [Int]
  }

  struct EmitOutput: Encodable {
    var directory: String
    var specHash: String
    var cellCount: Int
    var scheduler: String
    var file: String
    var submit: String
  }

  func run() throws {
    let directory = SweepDirectory(output)
    let file = model == nil ? try directory.requireStored() : try directory.create(try spec())
    if let emit { return try runEmit(SweepJobArguments.Kind(rawValue: emit)!, file: file, directory: directory) }
    var runner = SweepRunner(directory: directory, file: file)
    runner.keepModels = keepModels
    runner.log = { note($0) }
    let outcomes = try runner.run(cells: cell.map { [$0] })
    let status = try SweepStatus(directory: directory)
    if format.json {
      try JSONOutput.print(
        Output(
          directory: output, specHash: file.specHash, cellCount: file.cellCount, outcomes: outcomes,
          done: status.count(.done), notDone: status.notDone), command: "sweep")
    } else {
      for o in outcomes {
        let point = try file.spec.point(ofCell: o.cell)
        print("cell \(o.cell) (\(point)): \(o.result)\(o.error.map { ": \($0)" } ?? "")")
      }
      print("\(output): \(status.count(.done)) of \(file.cellCount) cells done (sweep \(file.specHash.prefix(12)))")
    }
    let failed = outcomes.filter { $0.result == "failed" }.map(\.cell)
    if !failed.isEmpty {
      throw SweepCommandError(
        "\(failed.count) cell(s) failed (\(SweepStatus.arrayList(failed))); DIR/cells/<i>.failed.json says why")
    }
  }

  func runEmit(_ kind: SweepJobArguments.Kind, file: SweepFile, directory: SweepDirectory) throws {
    let options = try job.options()
    let (name, text, submit): (String, String, String)
    switch kind {
    case .slurm:
      try FileManager.default.createDirectory(atPath: output + "/logs", withIntermediateDirectories: true)
      name = "sweep.sbatch"
      text = SweepSlurm.script(for: file, directory: output, options: options)
      submit = "sbatch \(output)/sweep.sbatch"
    case .kubernetes:
      name = "sweep-job.yaml"
      text = SweepKubernetes.manifest(for: file, directory: output, options: options)
      submit = "kubectl apply -f \(output)/sweep-job.yaml"
    }
    let path = output + "/" + name
    try AtomicFile.write(Data(text.utf8), to: path)
    if format.json {
      return try JSONOutput.print(
        EmitOutput(
          directory: output, specHash: file.specHash, cellCount: file.cellCount, scheduler: kind.rawValue,
          file: path, submit: submit), command: "sweep.emit")
    }
    print("wrote \(path): \(file.cellCount) cells of sweep \(file.specHash.prefix(12))")
    print("submit: \(submit)")
  }
}

/// A run that finished with failed cells (exit status 1, after every other cell ran).
struct SweepCommandError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}
