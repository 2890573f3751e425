import PruneKit
import Testing

/// `FineTuneData.check(against:)` for images: what the model's declared input and output accept.
@Suite struct FineTuneDataCheckTests {
  /// A model declaring input [N, 1, 2, 2] and logits [N, classes] (its nodes are never run here).
  static func model(classes: Int) -> Graph {
    Graph(
      name: "declared", nodes: [], initializers: [:],
      inputs: [ValueInfo(name: "x", dtype: .float32, shape: [.symbolic("N"), .fixed(1), .fixed(2), .fixed(2)])],
      outputs: [ValueInfo(name: "logits", dtype: .float32, shape: [.symbolic("N"), .fixed(classes)])])
  }

  static func images(labels: [Int], classCount: Int) -> FineTuneData {
    .images(
      ModelImages(
        ImageDataset(
          images: [Float](repeating: 0, count: 4 * labels.count), labels: labels, channels: 1, height: 2, width: 2,
          classCount: classCount)))
  }

  @Test func classCountsThatFitAreAccepted() throws {
    // Binary labels (an MNIST-format set still counts 10 classes): 2 to 10 logits all fit.
    for classes in [2, 10] { try Self.images(labels: [0, 1, 1], classCount: 10).check(against: Self.model(classes: classes)) }
  }

  @Test(arguments: [(1000, [0, 9]), (5, [0, 9]), (1, [0, 1])])
  func anotherTasksHeadIsRefusedNamingNewHead(classes: Int, labels: [Int]) throws {
    #expect {
      try Self.images(labels: labels, classCount: 10).check(against: Self.model(classes: classes))
    } throws: { error in
      "\(error)".contains("--new-head 10") && "\(error)".contains("\(classes) classes") && "\(error)".contains("logits")
    }
  }

  @Test func imagesOfAnotherSizeAreRefused() throws {
    let big = FineTuneData.images(
      ModelImages(ImageDataset(images: [Float](repeating: 0, count: 9), labels: [0], channels: 1, height: 3, width: 3, classCount: 10)))
    #expect { try big.check(against: Self.model(classes: 10)) } throws: { "\($0)".contains("1×2×2") && "\($0)".contains("1×3×3") }
  }
}
