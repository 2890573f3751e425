import ModelGraph
import TensorCore

/// Labelled images held in memory as normalised Float32, [count, channels, height, width].
public struct ImageDataset: Sendable {
  /// [count · channels · height · width], normalised: (pixel/255 − mean) / std.
  public var images: [Float]
  public var labels: [Int]
  public var channels: Int
  public var height: Int
  public var width: Int
  public var classCount: Int

  public var count: Int { labels.count }
  public var imageSize: Int { channels * height * width }

  public init(images: [Float], labels: [Int], channels: Int, height: Int, width: Int, classCount: Int) {
    precondition(
      images.count == labels.count * channels * height * width,
      "ImageDataset: \(images.count) floats for \(labels.count) images of \(channels)×\(height)×\(width)")
    self.images = images
    self.labels = labels
    self.channels = channels
    self.height = height
    self.width = width
    self.classCount = classCount
  }

  /// The first `n` images (all if n ≥ count): small subsets for development and tests.
  public func prefix(_ n: Int) -> ImageDataset {
    let k = min(n, count)
    return ImageDataset(
      images: Array(images[0..<(k * imageSize)]), labels: Array(labels[0..<k]), channels: channels,
      height: height, width: width, classCount: classCount)
  }

  /// The images at `indices` as one batch: inputs [n, channels, height, width].
  public func batch<C: Collection>(_ indices: C) -> Batch where C.Element == Int {
    let size = imageSize
    var data = [Float](repeating: 0, count: indices.count * size)
    var batchLabels: [Int] = []
    batchLabels.reserveCapacity(indices.count)
    data.withUnsafeMutableBufferPointer { out in
      images.withUnsafeBufferPointer { src in
        for (row, index) in indices.enumerated() {
          precondition(index >= 0 && index < count, "batch: index \(index) outside 0..<\(count)")
          (out.baseAddress! + row * size).update(from: src.baseAddress! + index * size, count: size)
        }
      }
    }
    for index in indices { batchLabels.append(labels[index]) }
    let tensor = Tensor(shape: [indices.count, channels, height, width], floats: data)
    return Batch(inputs: tensor, labels: batchLabels)
  }

  /// Mini-batches of one epoch, in an order shuffled by `seed` (nil = file order). The last batch
  /// may be smaller unless `dropLast`.
  public func batches(size: Int, shuffleSeed seed: UInt64?, dropLast: Bool = false) -> [[Int]] {
    precondition(size > 0, "batches: size must be positive, got \(size)")
    var order = Array(0..<count)
    if let seed { seededShuffle(&order, seed: seed) }
    var result: [[Int]] = []
    var start = 0
    while start < count {
      let end = min(start + size, count)
      if dropLast && end - start < size { break }
      result.append(Array(order[start..<end]))
      start = end
    }
    return result
  }
}

/// A mini-batch: inputs [n, …] and class labels (0-based).
public struct Batch: Sendable {
  public var inputs: Tensor
  public var labels: [Int]

  public init(inputs: Tensor, labels: [Int]) {
    self.inputs = inputs
    self.labels = labels
  }
}

/// Fisher–Yates shuffle driven by `SeededGenerator(seed:)`; the same seed gives the same order on
/// every platform and Swift version (the standard library's `shuffle` does not promise that).
public func seededShuffle<T>(_ values: inout [T], seed: UInt64) {
  var rng = SeededGenerator(seed: seed)
  var i = values.count - 1
  while i > 0 {
    let j = rng.nextIndex(below: i + 1)
    values.swapAt(i, j)
    i -= 1
  }
}

extension SeededGenerator {
  /// Uniform integer in 0..<n (Lemire's multiply-high; bias below 2⁻³² for n < 2³²).
  public mutating func nextIndex(below n: Int) -> Int {
    precondition(n > 0, "nextIndex(below:): n must be positive, got \(n)")
    return Int(UInt64(n).multipliedFullWidth(by: next()).high)
  }
}

extension ImageDataset {
  /// The images at `indices`, in that order, as a data set of their own.
  public func subset<C: Collection>(_ indices: C) -> ImageDataset where C.Element == Int {
    let selected = batch(indices)
    return ImageDataset(
      images: selected.inputs.floats, labels: selected.labels, channels: channels, height: height,
      width: width, classCount: classCount)
  }

  /// Carves a validation split out of a training set: hyperparameters, allocations and schedules
  /// are chosen on `validation`, and test data is only reported. With `seed` nil the validation
  /// images are the last `fraction` of the file (MNIST's usual last 6 000 of 60 000); with a seed
  /// they are a seeded random `fraction`. Both parts keep file order, and they never overlap.
  public func validationSplit(fraction: Double, seed: UInt64? = nil) throws -> (
    train: ImageDataset, validation: ImageDataset
  ) {
    guard fraction.isFinite, fraction > 0, fraction < 1 else {
      throw TrainingError.invalidArgument(
        what: "validation fraction", message: "must be in (0, 1), got \(fraction)")
    }
    let held = Int((Double(count) * fraction).rounded())
    guard held >= 1, held < count else {
      throw TrainingError.invalidArgument(
        what: "validation fraction",
        message: "\(fraction) of \(count) images leaves an empty train or validation split")
    }
    var order = Array(0..<count)
    if let seed { seededShuffle(&order, seed: seed) }
    let validation = order[(count - held)...].sorted()
    let train = order[..<(count - held)].sorted()
    return (subset(train), subset(validation))
  }
}
