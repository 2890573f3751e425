import ArgumentParser
import Foundation
import PruneKit

/// `prunekit finetune MODEL [--teacher DENSE] --data DIR|FILE.csv:COLUMN[:ROWS] -o OUT`
struct FinetuneCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "finetune",
    abstract: "Fine-tune or distil a (pruned) model with its zeros held, on images or texts.",
    usage: "prunekit finetune <model> --data <dir|csv:column> [--teacher <model>] -o <out> [<options>]",
    discussion: """
      Any model PruneKit runs (ONNX, safetensors + config.json) whose ops have backward rules: \
      MLPs and CNNs, BERT-style encoders. Pruned weights stay exactly zero: the model's masks, or \
      for a file without masks the exact zeros of each weight matrix. Gradients come from the \
      executor's own graph (docs/training.md).

      Data: --data DIR, MNIST-format IDX files (labels: cross-entropy on the first output, which \
      must be logits [N, classes]); or --data FILE.csv:COLUMN[:ROWS], texts tokenized with the \
      model's WordPiece tokenizer (no labels: needs --teacher). With --teacher the loss is \
      --distill (default: kl for logits, pooled-cosine for texts) against the teacher's output, \
      plus the labelled loss when labels exist. --distill hidden matches hidden states \
      layer by layer (--distill-layers, default all: every LayerNormalization output; per-token \
      --layer-loss); --distill-layers with another --distill adds that term to it.

      Images are fed as the model reads them: resized bilinearly (half-pixel, as PyTorch's \
      interpolate without antialias) to the model input's height × width (or --image-size), grey \
      replicated to its channels, normalised (x − mean) / std per channel on pixels in [0, 1] \
      (default: MNIST's 0.1307 / 0.3081; ImageNet models: --mean 0.485,0.456,0.406 --std \
      0.229,0.224,0.225). A model for another class count is refused; --new-head N replaces the \
      layer producing the logits (Gemm, MatMul(+Add) or 1×1 Conv) by a fresh seeded one of N \
      classes (transfer learning).

      AdamW, cosine decay by default. --checkpoint FILE saves weights and optimiser state every \
      --checkpoint-every steps (atomically); --resume continues an interrupted run from it. \
      --time-limit S checkpoints and stops after S seconds (exit status 75, no output model yet) \
      so that a job with a wall-clock limit continues later with --resume.

      Examples:
        prunekit finetune pruned.onnx --data mnist --epochs 1 -o tuned.onnx
        prunekit finetune p.onnx --teacher m.onnx --data t.csv:text -o d.onnx
        prunekit finetune p.onnx --data d --checkpoint c.safetensors -o t.onnx
        prunekit finetune cnn.onnx --data fashion --new-head 10 -o tuned.onnx
        prunekit finetune cnn.onnx --data mnist --image-size 64 --mean 0.5 -o t.onnx
      """)

  @Argument(help: "The model to fine-tune (.onnx, .safetensors).") var model: String
  @Option(help: "Dense teacher to distil from (same inputs and outputs).") var teacher: String?
  @Option(help: "IDX folder (images + labels) or FILE.csv:COLUMN[:ROWS] (texts).") var data: String
  @Option(parsing: .unconditional, help: "Passes over the data (default 1 unless --steps).") var epochs: Int?
  @Option(parsing: .unconditional, help: "Optimisation steps (instead of --epochs).") var steps: Int?
  @Option(parsing: .unconditional, help: "Peak learning rate (cosine decay to 0).") var lr: Float = 1e-4
  @Option(parsing: .unconditional, help: "Mini-batch size.") var batch: Int = 32
  @Option(parsing: .unconditional, help: "AdamW decoupled weight decay.") var weightDecay: Float = 0.01
  @Option(help: "Learning-rate schedule: cosine (decay to 0) or constant.") var schedule: String = "cosine"
  @Option(parsing: .unconditional, help: "Linear warm-up steps before the schedule.") var warmup: Int = 0
  @Option(parsing: .unconditional, help: "Texts: length-sorted pools of N batches (0: off).") var bucket: Int = 8
  @Option(help: "Distillation loss: mse, cosine, pooled-cosine, kl or hidden.") var distill: String?
  @Option(help: "Hidden states matched layer-wise: all, or indices/value names.") var distillLayers: String?
  @Option(help: "Per-token loss of the hidden states: mse or cosine.") var layerLoss: String = "mse"
  @Option(parsing: .unconditional, help: "Weight of the hidden-state term.") var layerWeight: Float = 1
  @Option(parsing: .unconditional, help: "Temperature of the kl loss.") var temperature: Float = 2
  @Option(parsing: .unconditional, help: "Tokens per text (longer texts are truncated).") var maxLength: Int = 128
  @Option(name: .customLong("validate"), help: "Texts: embedding fidelity to the teacher on FILE.csv:COLUMN[:ROWS].")
  var validationTexts: String?
  @Option(parsing: .unconditional, help: "Steps between --validate measurements.") var validateEvery: Int = 25
  @Option(help: "Tokenizer folder; default: beside the model.") var tokenizer: String?
  @Option(parsing: .unconditional, help: "Train on the first N examples only.") var limit: Int?
  @Option(help: "Images: H×W (or N for N×N) fed to the model; default: the model input's.") var imageSize: String?
  @Option(help: "Images: per-channel mean (1 or C values, comma-separated) on pixels in [0, 1].")
  var mean: String = "\(MNIST.mean)"
  @Option(help: "Images: per-channel std (1 or C values, comma-separated).") var std: String = "\(MNIST.std)"
  @Option(parsing: .unconditional, help: "Replace the classifier head by a fresh one of N classes (seeded).")
  var newHead: Int?
  @Option(help: "Checkpoint file (.safetensors), rewritten every --checkpoint-every steps.") var checkpoint: String?
  @Option(parsing: .unconditional, help: "Steps between checkpoints.") var checkpointEvery: Int = 50
  @Flag(help: "Continue from --checkpoint when it exists.") var resume = false
  @Option(parsing: .unconditional, help: "Seconds; then checkpoint and stop (exit 75) for a --resume.")
  var timeLimit: Double?
  @Option(name: .shortAndLong, help: "Output model: .onnx or .safetensors.") var output: String
  @OptionGroup var seeds: SeedOption
  @OptionGroup var threads: ThreadsOption
  @OptionGroup var verbosity: VerbosityOptions
  @OptionGroup var format: JSONOption
  var json: Bool { format.json }

  struct Output: Encodable {
    let model: String
    let teacher: String?
    let data: String
    let examples: Int
    let steps: Int
    let resumedFromStep: Int
    let firstLoss: Double?
    let finalLoss: Double?
    let losses: [Double]
    let testAccuracyBefore: Double?
    let testAccuracyAfter: Double?
    let heldZeros: Int
    /// Images: [channels, height, width] fed to the model.
    let imageShape: [Int]?
    /// The layer replaced by --new-head.
    let newHead: ClassifierHead.Replacement?
    /// --validate: fidelity to the teacher after `step` steps, `seconds` of training (validation excluded).
    let validation: [ValidationPoint]?
    let seconds: Double
    let output: String
    let seed: UInt64
  }

  struct ValidationPoint: Encodable {
    let step: Int
    let seconds: Double
    let fidelity: Double
    let fidelityMin: Double
  }

  func validate() throws {
    try OptionCheck.int(epochs, "--epochs", in: 1...OptionCheck.maxEpochs)
    try OptionCheck.int(steps, "--steps", in: 1...100_000_000)
    try OptionCheck.int(batch, "--batch", in: 1...65_536)
    try OptionCheck.int(maxLength, "--max-length", in: 2...8192)
    try OptionCheck.int(limit, "--limit", in: 1...Int(Int32.max))
    try OptionCheck.int(checkpointEvery, "--checkpoint-every", in: 1...100_000_000)
    try OptionCheck.int(newHead, "--new-head", in: 1...1 << 24)
    _ = try imageNormalisation()
    _ = try requestedImageSize()
    try OptionCheck.learningRate(lr, "--lr")
    try OptionCheck.number(weightDecay, "--weight-decay", in: 0...1)
    try OptionCheck.number(temperature, "--temperature", in: 0.01...100)
    try OptionCheck.exclusive(["--epochs": epochs != nil, "--steps": steps != nil])
    try OptionCheck.int(warmup, "--warmup", in: 0...100_000_000)
    try OptionCheck.int(bucket, "--bucket", in: 0...1_000_000)
    try OptionCheck.number(layerWeight, "--layer-weight", in: 0...1000)
    guard ["mse", "cosine"].contains(layerLoss) else {
      throw ValidationError("--layer-loss \(layerLoss): expected mse or cosine")
    }
    if distillLayers != nil && teacher == nil { throw ValidationError("--distill-layers needs --teacher DENSE") }
    try OptionCheck.int(validateEvery, "--validate-every", in: 1...100_000_000)
    if validationTexts != nil && teacher == nil { throw ValidationError("--validate needs --teacher DENSE") }
    if let distill, FineTuneObjective.Distillation(rawValue: distill) == nil {
      throw ValidationError(
        "--distill \(distill): expected one of \(FineTuneObjective.Distillation.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    guard ["cosine", "constant"].contains(schedule) else {
      throw ValidationError("--schedule \(schedule): expected cosine or constant")
    }
    if distill != nil && teacher == nil { throw ValidationError("--distill needs --teacher DENSE") }
    if resume && checkpoint == nil { throw ValidationError("--resume needs --checkpoint FILE") }
    if let timeLimit {
      try OptionCheck.number(timeLimit, "--time-limit", in: 1...1e9)
      if checkpoint == nil { throw ValidationError("--time-limit needs --checkpoint FILE to resume from") }
    }
    try OptionCheck.output(output, inputs: [model] + (teacher.map { [$0] } ?? []), extensions: ["onnx", "safetensors"])
    if let checkpoint {
      try OptionCheck.output(checkpoint, "--checkpoint", inputs: [model, output], extensions: ["safetensors"])
    }
  }

  func run() throws {
    threads.apply()
    verbosity.apply()
    AllocatorTuning.retainFreedMemory()
    let wall = Date()
    var saved: FineTuneCheckpoint? = nil
    if resume, let checkpoint, FileManager.default.fileExists(atPath: checkpoint) {
      let (state, metadata) = try FineTuneCheckpoint.read(from: checkpoint)
      if let s = metadata["seed"], s != "\(seeds.seed)" {
        throw ValidationError("--resume: \(checkpoint) was made with --seed \(s), not \(seeds.seed)")
      }
      saved = state
    }
    var graph = try ModelFile.loadAny(model)
    let head = try newHead.map { try ClassifierHead.replace(in: &graph, classes: $0, seed: seeds.seed) }
    if let head {
      note("new head: \(head.opType) '\(head.node)' \(head.oldClasses) → \(head.newClasses) classes (seed \(seeds.seed))")
    }
    let held = FineTuneMasks.holdZeros(&graph)
    let teacherGraph = try teacher.map { try ModelFile.loadAny($0) }
    let layers = try (distillLayers ?? (distill == "hidden" ? "all" : nil)).map { try DistillationLayers.resolve($0, in: graph) }
    let (train, test, isText) = try loadData(graph)
    try train.check(against: graph)
    var fedShape: [Int]? = nil
    if case .images(let images) = train { fedShape = [images.channels, images.height, images.width] }
    let kind = distill.map { FineTuneObjective.Distillation(rawValue: $0)! }
      ?? (teacher == nil ? nil : (isText ? .pooledCosine : .kl))
    let objective = FineTuneObjective(
      distillation: kind, temperature: temperature, labelWeight: isText ? 0 : 1,
      maskInput: isText ? "attention_mask" : nil, hiddenStates: layers ?? [],
      layerLoss: layerLoss == "cosine" ? .cosine : .mse, layerWeight: layerWeight)
    if let layers { note("distilling \(layers.count) hidden states (\(layerLoss))") }
    let tuner = try FineTuner(
      student: graph, teacher: teacherGraph, objective: objective,
      optimizer: .adamW(learningRate: lr, weightDecay: weightDecay))
    let total = steps ?? FineTuneRecipe.steps(epochs: epochs ?? 1, count: train.count, batchSize: batch)
    let recipe = FineTuneRecipe(
      steps: total, batchSize: batch, learningRate: lr, weightDecay: weightDecay, seed: seeds.seed,
      checkpointPath: checkpoint, checkpointEvery: checkpointEvery,
      schedule: schedule == "constant" ? .constant : .cosine(minimumFactor: 0), warmupSteps: warmup,
      bucketSize: isText ? bucket : 0, timeLimit: timeLimit)
    if let saved, let checkpoint {
      try tuner.restore(saved)
      note("resumed from \(checkpoint) at step \(saved.step) of \(total)")
    }
    let resumedFrom = tuner.step
    let before = try test.map { try accuracy(tuner.graph, $0) }
    if let before { note(String(format: "test accuracy before: %.2f%%", 100 * before)) }
    let validation = try validationSet(teacherGraph)
    var curve: [ValidationPoint] = []
    var validating = 0.0  // seconds spent validating, left out of the curve's training time
    let trainingStart = Date()
    func measure(_ step: Int) throws {
      guard let validation else { return }
      let start = Date()
      let f = try validation.fidelity(of: tuner.graph)
      curve.append(
        ValidationPoint(
          step: step, seconds: start.timeIntervalSince(trainingStart) - validating, fidelity: f.mean, fidelityMin: f.min))
      validating += Date().timeIntervalSince(start)
      note(String(format: "step %d: validation fidelity %.4f (min %.4f)", step, f.mean, f.min))
    }
    try measure(resumedFrom)
    var bar = ProgressBar(total: total - resumedFrom, label: "finetune")
    var losses: [Double] = []
    var done = 0
    _ = try recipe.run(tuner, data: train) { report in
      losses.append(Double(report.loss))
      done += 1
      if (report.step + 1) % validateEvery == 0 || report.step + 1 == total { try measure(report.step + 1) }
      let recent = losses.suffix(20)
      bar.update(
        done: done, unitsDone: done * batch, unit: isText ? "text" : "img",
        fields: String(format: "step %d/%d loss %.4f", report.step + 1, total, recent.reduce(0, +) / Double(recent.count)))
    }
    if tuner.step < total, let checkpoint {
      // --time-limit: the checkpoint holds the run; no output model is written until it ends.
      note("stopped at step \(tuner.step) of \(total) (--time-limit); continue with --resume from \(checkpoint)")
      throw ExitCode(75)
    }
    let after = try test.map { try accuracy(tuner.graph, $0) }
    try Checkpoint.save(tuner.graph, to: output)
    let seconds = Date().timeIntervalSince(wall)
    if json {
      return try JSONOutput.print(
        Output(
          model: model, teacher: teacher, data: data, examples: train.count, steps: total, resumedFromStep: resumedFrom,
          firstLoss: losses.first, finalLoss: losses.suffix(20).isEmpty ? nil : losses.suffix(20).reduce(0, +) / Double(losses.suffix(20).count),
          losses: losses, testAccuracyBefore: before, testAccuracyAfter: after, heldZeros: held,
          imageShape: fedShape, newHead: head, validation: validation == nil ? nil : curve, seconds: seconds,
          output: output, seed: seeds.seed),
        command: "finetune")
    }
    var line = String(format: "%d steps (from %d), ", total, resumedFrom)
    if let first = losses.first, let last = losses.last { line += String(format: "loss %.4f → %.4f, ", first, last) }
    if let before, let after { line += String(format: "test accuracy %.2f%% → %.2f%%, ", 100 * before, 100 * after) }
    print(line + String(format: "%d zeros held, %.1f s; saved %@", held, seconds, output))
  }

  /// Training data (and the IDX test split when there is one); true for texts.
  func loadData(_ graph: Graph) throws -> (FineTuneData, ModelImages?, Bool) {
    if data.lowercased().contains(".csv:") || data.lowercased().hasSuffix(".csv") {
      guard graph.inputs.contains(where: { $0.name == "input_ids" }) else {
        throw TrainingError.invalidArgument(
          what: "--data \(data)", message: "texts need a model input named input_ids; \(model) has \(graph.inputs.map(\.name))")
      }
      let spec = try CSVColumnSpec(parsing: data, option: "--data", columnCount: 1)
      var texts = try spec.read(option: "--data").values[0]
      if let limit { texts = Array(texts.prefix(limit)) }
      let words = try WordPieceTokenizer.forModel(URL(fileURLWithPath: model).path, folder: tokenizer)
      note("data: \(texts.count) texts from \(spec.path)")
      return (.texts(texts, tokenizer: words, maxLength: maxLength), nil, true)
    }
    // One mean/std: normalised at load (exactly as before for unresized MNIST); per channel: after.
    let (mean, std) = try imageNormalisation()
    let atLoad = mean.count == 1 && std.count == 1
    let (m, s) = atLoad ? (mean[0], std[0]) : (0, 1)
    let train = try MNIST.load(directory: data, split: .train, limit: limit, mean: m, std: s)
    let test = try? MNIST.load(directory: data, split: .test, mean: m, std: s)
    let (c, h, w) = try imageShape(graph, train)
    func adapted(_ images: ImageDataset) throws -> ModelImages {
      try ModelImages(images, channels: c, height: h, width: w, mean: atLoad ? [0] : mean, std: atLoad ? [1] : std)
    }
    let fed = try adapted(train)
    let resized = fed.adapts ? " fed as \(c)×\(h)×\(w)" : ""
    note("data: \(data) (\(train.count) training\(test.map { ", \($0.count) test" } ?? "") images of \(train.channels)×\(train.height)×\(train.width)\(resized))")
    return (.images(fed), try test.map(adapted), false)
  }

  /// --mean / --std as lists (1 or C values).
  func imageNormalisation() throws -> ([Float], [Float]) {
    func list(_ text: String, _ flag: String) throws -> [Float] {
      let values = text.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
      guard !values.isEmpty, values.count <= 4096, values.allSatisfy({ $0?.isFinite ?? false }) else {
        throw ValidationError("\(flag) \(text): expected finite numbers separated by commas (one per channel, or one)")
      }
      return values.map { $0! }
    }
    let (m, s) = (try list(mean, "--mean"), try list(std, "--std"))
    if let bad = s.first(where: { $0 <= 0 }) { throw ValidationError("--std \(std): \(bad) is not > 0") }
    return (m, s)
  }

  /// --image-size as (height, width); nil when not given.
  func requestedImageSize() throws -> (Int, Int)? {
    guard let imageSize else { return nil }
    let parts = imageSize.lowercased().replacingOccurrences(of: "×", with: "x").split(separator: "x", omittingEmptySubsequences: false)
    let values = parts.map { Int($0) }
    guard (1...2).contains(values.count), values.allSatisfy({ ($0 ?? 0) >= 1 && ($0 ?? 0) <= 8192 }) else {
      throw ValidationError("--image-size \(imageSize): expected H×W or N, each in 1…8192 (e.g. 32 or 224x224)")
    }
    return (values[0]!, values.count == 2 ? values[1]! : values[0]!)
  }

  /// Channels, height and width fed to the model: its first input's fixed dimensions, else
  /// --image-size, else the data's; --image-size must agree with fixed dimensions.
  func imageShape(_ graph: Graph, _ images: ImageDataset) throws -> (Int, Int, Int) {
    let dims = graph.inputs.first?.shape.flatMap { $0.count == 4 ? $0.map(\.value) : nil } ?? [nil, nil, nil, nil]
    let size = try requestedImageSize()
    if let (h, w) = size, let mh = dims[2], let mw = dims[3], (h, w) != (mh, mw) {
      throw ValidationError(
        "--image-size \(imageSize ?? ""): the model's input '\(graph.inputs[0].name)' is fixed at \(mh)×\(mw); "
          + "leave --image-size out to resize the images to it")
    }
    return (
      dims[1] ?? images.channels, dims[2] ?? size?.0 ?? images.height, dims[3] ?? size?.1 ?? images.width
    )
  }

  /// --validate's texts, embedded once by the teacher; nil without --validate.
  func validationSet(_ teacher: Graph?) throws -> EmbeddingValidation? {
    guard let validationTexts, let teacher, let teacherPath = self.teacher else { return nil }
    let spec = try CSVColumnSpec(parsing: validationTexts, option: "--validate", columnCount: 1)
    let texts = try spec.read(option: "--validate").values[0]
    let words = try WordPieceTokenizer.forModel(URL(fileURLWithPath: teacherPath).path, folder: tokenizer)
    note("validation: \(texts.count) texts from \(spec.path)")
    return try EmbeddingValidation(teacher: teacher, texts: texts, tokenizer: words, maxLength: maxLength)
  }

  func accuracy(_ graph: Graph, _ test: ModelImages) throws -> Double {
    Double(try Trainer.evaluate(graph: graph, on: test).accuracy)
  }
}
