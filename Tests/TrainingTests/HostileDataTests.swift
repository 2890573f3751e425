import Foundation
import Testing

@testable import Training

/// Hostile data of issue 15: IDX headers that overflowed or hung, empty sets, labels and image sizes
/// the model cannot use, and training that diverges. Every error names the file (and byte offset).
@Suite struct HostileDataTests {
  /// A folder with MNIST-named IDX files: `images` and `labels` are whole files.
  static func folder(images: [UInt8], labels: [UInt8]) throws -> String {
    let dir = try temporaryDirectory()
    for split in ["train", "t10k"] {
      try Data(images).write(to: URL(fileURLWithPath: "\(dir)/\(split)-images-idx3-ubyte"))
      try Data(labels).write(to: URL(fileURLWithPath: "\(dir)/\(split)-labels-idx1-ubyte"))
    }
    return dir
  }

  static func images(_ n: Int, _ h: Int = 28, _ w: Int = 28) -> [UInt8] {
    idxBytes(type: 8, shape: [n, h, w], payload: [UInt8](repeating: 7, count: n * h * w))
  }

  static func labels(_ values: [UInt8]) -> [UInt8] { idxBytes(type: 8, shape: [values.count], payload: values) }

  struct Case: CustomTestStringConvertible, Sendable {
    var name: String
    var images: [UInt8]
    var labels: [UInt8]
    var file: String  // which file the message must name
    var fragment: String
    var testDescription: String { name }
  }

  static let cases: [Case] = [
    // Every dim 0xFFFFFFFF: the payload size product overflowed Int (crash in train --data).
    .init(
      name: "dims all 0xFFFFFFFF", images: [0, 0, 8, 3] + [UInt8](repeating: 0xFF, count: 12) + [1, 2, 3],
      labels: labels([1]), file: "train-images-idx3-ubyte", fragment: "dimensions whose data fits in the file"),
    // 0 images: training looped forever ("epoch 52164/-1") or saved an untrained model.
    .init(
      name: "no images", images: images(0), labels: labels([]), file: "train-images-idx3-ubyte",
      fragment: "at least one image"),
    .init(
      name: "label out of range", images: images(2), labels: labels([3, 200]), file: "train-labels-idx1-ubyte",
      fragment: "a class label in 0..<10, found 200 (label of image 1)"),
    .init(
      name: "wrong image size", images: images(1, 32, 32), labels: labels([1]), file: "train-images-idx3-ubyte",
      fragment: "images of 28×28 pixels"),
    .init(
      name: "labels and images disagree", images: images(2), labels: labels([1]), file: "train-labels-idx1-ubyte",
      fragment: "2 labels"),
  ]

  @Test(arguments: cases)
  func badDataIsRefusedNamingTheFile(_ c: Case) throws {
    let dir = try Self.folder(images: c.images, labels: c.labels)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let error = #expect(throws: TrainingError.self) {
      try MNIST.load(directory: dir, split: .train, classCount: 10, imageSize: [28, 28])
    }
    let text = error.map { "\($0)" } ?? ""
    #expect(text.contains("\(dir)/\(c.file)"), "\(text)")
    #expect(text.contains(c.fragment), "\(text)")
  }

  @Test func negativeLimitIsAnError() throws {
    let dir = try Self.folder(images: Self.images(2), labels: Self.labels([1, 2]))
    defer { try? FileManager.default.removeItem(atPath: dir) }
    #expect(throws: TrainingError.self) { try MNIST.load(directory: dir, split: .train, limit: -5) }
  }

  /// A float-typed label file with NaN: the Int conversion trapped.
  @Test func nanFloatLabelIsAnError() throws {
    let nan: [UInt8] = [0x7F, 0xC0, 0, 0]  // float32 NaN, big-endian
    let dir = try Self.folder(images: Self.images(1), labels: idxBytes(type: 0x0D, shape: [1], payload: nan))
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let error = #expect(throws: TrainingError.self) { try MNIST.load(directory: dir, split: .train, classCount: 10) }
    #expect("\(error.map { "\($0)" } ?? "")".contains("a class label in 0..<10"))
  }

  @Test func trainerRefusesEmptyData() throws {
    let empty = ImageDataset(images: [], labels: [], channels: 1, height: 28, width: 28, classCount: 10)
    let trainer = try Trainer(graph: LeNet.lenet300100(seed: 1), optimizer: SGD(learningRate: 0.05))
    let error = #expect(throws: TrainingError.self) { try trainer.train(on: empty, epochs: 1_000_000) }
    #expect("\(error.map { "\($0)" } ?? "")".contains("no examples"))
  }

  /// A batch size of Int.max overflowed `start + batchSize`.
  @Test func hugeBatchSizeTrainsOneBatchPerEpoch() throws {
    let data = try MNIST.load(directory: repositoryMNIST, split: .test, limit: 8)
    let trainer = try Trainer(
      graph: LeNet.lenet300100(seed: 1), optimizer: SGD(learningRate: 0.01),
      configuration: TrainingConfiguration(batchSize: .max))
    var steps = 0
    try trainer.train(on: data, epochs: 1) { _ in steps += 1 }
    #expect(steps == 1)
  }

  /// lr = 1e30 makes the weights overflow: the loss becomes inf/NaN and training stops naming the step.
  @Test func divergingLossStopsWithTheStep() throws {
    let data = try MNIST.load(directory: repositoryMNIST, split: .test, limit: 256)
    let trainer = try Trainer(
      graph: LeNet.lenet300100(seed: 1), optimizer: SGD(learningRate: 1e30),
      configuration: TrainingConfiguration(batchSize: 32))
    let error = #expect(throws: TrainingError.self) { try trainer.train(on: data, epochs: 5) }
    guard case .nonFiniteLoss(let step, _, let loss)? = error else {
      Issue.record("expected nonFiniteLoss, got \(String(describing: error))")
      return
    }
    #expect(step >= 1 && !loss.isFinite)
    #expect("\(error!)".contains("at step \(step)"))
  }

  /// A gzip "bomb" is cut at the read limit instead of exhausting memory.
  @Test func inflatedSizeIsLimited() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = "\(dir)/big"
    try Data(count: 3 << 20).write(to: URL(fileURLWithPath: path))
    let error = #expect(throws: TrainingError.self) { try FileBytes.read(path, limit: 1 << 20) }
    #expect("\(error.map { "\($0)" } ?? "")".contains("more than 1048576 bytes"))
  }
}
