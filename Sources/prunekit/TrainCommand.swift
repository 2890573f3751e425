import ArgumentParser
import Foundation
import PruneKit

struct TrainCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "train",
    abstract: "Train LeNet-300-100 or LeNet-5 on MNIST-format data and save it as ONNX or safetensors.",
    discussion: """
      Data: --data DIR is any folder with the four MNIST-format IDX files, gzipped or not, named \
      train-images-idx3-ubyte or train-images.idx3-ubyte (likewise train-labels, t10k-images, \
      t10k-labels), e.g. Fashion-MNIST. Without --data: $PRUNEKIT_DATA/mnist, then Data/mnist under \
      the working directory, then Data/mnist beside the executable or in any of its parent folders \
      (the repository ships MNIST there).

      The saved model takes the float image [N, 1, 28, 28] as input `input`, preprocessed as \
      x = (pixel / 255 - 0.1307) / 0.3081 (pixels 0-255; MNIST training mean and std), and returns \
      `logits` [N, 10]. LeNet-300-100 flattens inside the model.

      Defaults: SGD, momentum 0.9, Nesterov, weight decay 5e-4, cosine learning-rate schedule, \
      batch 64, seed 1; lenet300 and lenet5: 20 epochs at lr 0.05. A .safetensors output carries the \
      graph in its metadata, so every command reads it back.

      Examples:
        prunekit train lenet300 -o lenet300.onnx
        prunekit train lenet5 --epochs 10 -o lenet5.onnx --json
        prunekit train lenet300 --data fashion-mnist --epochs 5 -o f.safetensors
      """)

  enum Model: String, ExpressibleByArgument, CaseIterable { case lenet300, lenet5 }
  enum OptimizerName: String, ExpressibleByArgument, CaseIterable { case sgd, adam, adamw }
  enum ScheduleName: String, ExpressibleByArgument, CaseIterable { case cosine, step, constant }

  @Argument(help: "lenet300 (784-300-100-10) or lenet5 (Caffe LeNet-5, 431K parameters).")
  var model: Model

  @Option(help: "Folder with the MNIST-format IDX files (default: the repository's MNIST copy).")
  var data: String?

  @Option(parsing: .unconditional, help: "Epochs.") var epochs: Int = 20
  @Option(parsing: .unconditional, help: "Mini-batch size.") var batch: Int = 64
  @Option(parsing: .unconditional, help: "Base learning rate (default 0.05 for SGD, 1e-3 for Adam/AdamW).")
  var lr: Float?
  @Option(help: "sgd, adam or adamw.") var optimizer: OptimizerName = .sgd
  @Option(parsing: .unconditional, help: "SGD momentum.") var momentum: Float = 0.9
  @Option(parsing: .unconditional, help: "Weight decay (L2 for SGD/Adam, decoupled for AdamW).")
  var weightDecay: Float = 5e-4
  @Option(help: "cosine, step (x0.1 every third of the run) or constant.") var schedule: ScheduleName =
    .cosine
  @OptionGroup var seeds: SeedOption
  var seed: UInt64 { seeds.seed }
  @OptionGroup var threads: ThreadsOption
  @OptionGroup var verbosity: VerbosityOptions
  @Option(parsing: .unconditional, help: "Train on the first N training images only (quick runs).")
  var limit: Int?
  @Option(name: .shortAndLong, help: "Output file: .onnx or .safetensors.") var output: String
  @OptionGroup var format: JSONOption
  var json: Bool { format.json }

  /// What `--json` prints.
  struct Output: Encodable {
    struct Epoch: Encodable {
      let epoch: Int
      let trainLoss: Double
      let trainAccuracy: Double
      let testError: Double
      let seconds: Double
    }
    let model: String
    let data: String
    let epochs: [Epoch]
    let testError: Double
    let testCorrect: Int
    let testCount: Int
    let wallSeconds: Double
    let output: String
    let parameters: Int
    let seed: UInt64
  }

  func validate() throws {
    try OptionCheck.int(epochs, "--epochs", in: 1...OptionCheck.maxEpochs)
    try OptionCheck.int(batch, "--batch", in: 1...65_536)
    try OptionCheck.int(limit, "--limit", in: 1...Int(Int32.max))
    try OptionCheck.learningRate(lr, "--lr")
    try OptionCheck.number(momentum, "--momentum", in: 0...1, openUpper: true)
    try OptionCheck.number(weightDecay, "--weight-decay", in: 0...1)
    try OptionCheck.output(output, extensions: ["onnx", "safetensors"])
  }

  func run() throws {
    let wall = Date()
    let folder = try data ?? MNIST.defaultDirectory(executablePath: CommandLine.arguments.first)
    let train = try MNIST.load(
      directory: folder, split: .train, limit: limit, classCount: 10, imageSize: [28, 28])
    let test = try MNIST.load(directory: folder, split: .test, classCount: 10, imageSize: [28, 28])
    note("data: \(folder) (\(train.count) training, \(test.count) test images)")
    let graph = model == .lenet300 ? LeNet.lenet300100(seed: seed) : LeNet.lenet5(seed: seed)
    let rate = lr ?? (optimizer == .sgd ? 0.05 : 1e-3)
    let opt: any Optimizer
    switch optimizer {
    case .sgd:
      opt = SGD(learningRate: rate, momentum: momentum, nesterov: momentum > 0, weightDecay: weightDecay)
    case .adam: opt = Adam(learningRate: rate, weightDecay: weightDecay)
    case .adamw: opt = Adam.adamW(learningRate: rate, weightDecay: weightDecay)
    }
    let plan: LearningRateSchedule =
      switch schedule {
      case .cosine: .cosine(minimumFactor: 0)
      case .step: .step(everyEpochs: max(epochs / 3, 1), gamma: 0.1)
      case .constant: .constant
      }
    let trainer = try Trainer(
      graph: graph, optimizer: opt,
      configuration: TrainingConfiguration(batchSize: batch, schedule: plan, seed: seed))
    var epochs: [Output.Epoch] = []
    for epoch in 0..<self.epochs {
      var bar = ProgressBar(
        total: (train.count + batch - 1) / batch, label: "epoch \(epoch + 1)/\(self.epochs)")
      var (lossSum, correct, seen, steps) = (0.0, 0, 0, 0)
      let report = try trainer.train(on: train, epochs: 1, startEpoch: epoch, totalEpochs: self.epochs) {
        step in
        lossSum += Double(step.loss) * Double(step.count)
        correct += step.correct
        seen += step.count
        steps += 1
        bar.update(
          done: steps, unitsDone: seen, unit: "img",
          fields: String(
            format: "loss %.4f acc %.2f%%", lossSum / Double(seen), 100 * Double(correct) / Double(seen)))
      }[0]
      let eval = try trainer.evaluate(on: test)
      note(
        String(
          format: "epoch %d/%d: train loss %.4f acc %.2f%%, test error %.2f%%, %.1f s", epoch + 1,
          self.epochs,
          report.loss, 100 * report.accuracy, 100 * eval.error, report.seconds))
      epochs.append(
        Output.Epoch(
          epoch: epoch + 1, trainLoss: Double(report.loss), trainAccuracy: Double(report.accuracy),
          testError: Double(eval.error), seconds: report.seconds))
    }
    let final = try trainer.evaluate(on: test)
    try Checkpoint.save(trainer.graph, to: output)
    let seconds = Date().timeIntervalSince(wall)
    if json {
      try JSONOutput.print(
        Output(
          model: model.rawValue, data: folder, epochs: epochs, testError: Double(final.error),
          testCorrect: final.correct, testCount: final.count, wallSeconds: seconds, output: output,
          parameters: trainer.parameters.scalarCount, seed: seed),
        command: "train")
    } else {
      print(
        String(
          format: "%@: test error %.2f%% (%d/%d correct) after %d epochs, %.1f s; saved %@", model.rawValue,
          100 * final.error, final.correct, final.count, self.epochs, seconds, output))
    }
  }
}
