import Runtime
import TensorCore

/// Labelled images presented the way a model reads them, built per batch (a resized copy of the
/// whole data set never sits in memory):
///
/// 1. bilinear resize of each image to the model's height × width — ONNX Resize's half_pixel
///    geometry through the executor's own kernel (`Tensor.resizedBilinear`), i.e. PyTorch's
///    `interpolate(mode="bilinear", align_corners=False)` without antialias;
/// 2. a one-channel (grey) image replicated to the model's channel count (e.g. 3 for RGB models);
/// 3. per-channel normalisation x ← (x − mean[c]) / std[c] of the source's values (identity by
///    default, for sources already normalised when loaded).
///
/// Resizing and replication are linear, so they commute with a scalar normalisation applied at load.
public struct ModelImages: LabeledDataset {
  public let source: ImageDataset
  /// What each batch holds per image: [channels, height, width].
  public let channels: Int
  public let height: Int
  public let width: Int
  /// Per output channel (one value = every channel).
  public let mean: [Float]
  public let std: [Float]

  public var count: Int { source.count }
  public var classCount: Int { source.classCount }
  /// True when batches differ from the source's images (resized, replicated or renormalised).
  public var adapts: Bool {
    channels != source.channels || height != source.height || width != source.width || mean != [0] || std != [1]
  }

  /// The images as they are.
  public init(_ source: ImageDataset) {
    self.source = source
    (channels, height, width) = (source.channels, source.height, source.width)
    (mean, std) = ([0], [1])
  }

  /// The images resized to `height` × `width`, grey replicated to `channels`, then normalised.
  /// Throws, naming what cannot be mapped: a source with several channels other than `channels`,
  /// non-positive sizes, mean/std lists of the wrong length, a std ≤ 0 or non-finite values.
  public init(
    _ source: ImageDataset, channels: Int, height: Int, width: Int, mean: [Float] = [0], std: [Float] = [1]
  ) throws {
    guard channels > 0, height > 0, width > 0, height <= 8192, width <= 8192 else {
      throw TrainingError.invalidArgument(
        what: "image size", message: "expected channels, height and width in 1…8192, got \(channels)×\(height)×\(width)")
    }
    guard source.channels == channels || source.channels == 1 else {
      throw TrainingError.invalidArgument(
        what: "images", message: "\(source.channels)-channel images cannot feed a \(channels)-channel model input "
          + "(only 1-channel grey images are replicated to the model's channels)")
    }
    for (name, values) in [("mean", mean), ("std", std)] {
      guard values.count == 1 || values.count == channels else {
        throw TrainingError.invalidArgument(
          what: name, message: "expected 1 or \(channels) values (one per model channel), got \(values.count)")
      }
      guard values.allSatisfy(\.isFinite) else {
        throw TrainingError.invalidArgument(what: name, message: "non-finite value in \(values)")
      }
    }
    guard std.allSatisfy({ $0 > 0 }) else {
      throw TrainingError.invalidArgument(what: "std", message: "every value must be > 0, got \(std)")
    }
    self.source = source
    (self.channels, self.height, self.width) = (channels, height, width)
    (self.mean, self.std) = (mean, std)
  }

  /// Batch inputs [n, channels, height, width] and labels.
  public func batch(_ indices: [Int]) -> Batch {
    var b = source.batch(indices[...])
    guard adapts else { return b }
    var x = b.inputs
    if height != source.height || width != source.width { x = x.resizedBilinear(height: height, width: width) }
    let n = indices.count, plane = height * width, from = source.channels
    let v = x.floats
    var out = [Float](repeating: 0, count: n * channels * plane)
    for i in 0..<n {
      for c in 0..<channels {
        let (m, s) = (mean.count == 1 ? mean[0] : mean[c], std.count == 1 ? std[0] : std[c])
        let src = (i * from + (from == 1 ? 0 : c)) * plane, dst = (i * channels + c) * plane
        for p in 0..<plane { out[dst + p] = (v[src + p] - m) / s }
      }
    }
    b.inputs = Tensor(shape: [n, channels, height, width], floats: out)
    return b
  }
}
