import ModelGraph
import TensorCore

#if canImport(Glibc)
  import Glibc
#endif

/// MNIST-format data sets (MNIST, Fashion-MNIST, KMNIST …): a folder with four IDX files.
///
/// File names: `train-images-idx3-ubyte` (LeCun's site) or `train-images.idx3-ubyte` (some mirrors),
/// each optionally with `.gz`; likewise `train-labels`, `t10k-images`, `t10k-labels`.
///
/// Normalisation: x = (pixel / 255 − mean) / std with the MNIST training-set statistics
/// mean = 0.1307, std = 0.3081 (the values of the PyTorch MNIST example). Exported models expect
/// their float input [N, 1, 28, 28] normalised this way.
public enum MNIST {
  public static let mean: Float = 0.1307
  public static let std: Float = 0.3081

  public enum Split: String, Sendable { case train, test }

  /// The four file stems, and the naming variants tried for each (first found wins).
  static func candidates(_ stem: String, kind: String) -> [String] {
    let names = ["\(stem)-\(kind)", "\(stem).\(kind)"]
    return names.flatMap { [$0, $0 + ".gz"] }
  }

  /// The path of one of the four files in `directory`, or `fileNotFound` naming what was tried.
  public static func file(in directory: String, split: Split, labels: Bool) throws -> String {
    let stem = (split == .train ? "train" : "t10k") + (labels ? "-labels" : "-images")
    let kind = labels ? "idx1-ubyte" : "idx3-ubyte"
    let names = candidates(stem, kind: kind)
    for name in names where FileBytes.exists(directory + "/" + name) { return directory + "/" + name }
    throw TrainingError.fileNotFound(
      path: directory + "/" + names[0],
      hint: "also tried \(names.dropFirst().joined(separator: ", "))")
  }

  /// Loads one split, normalised with `mean`/`std`. `limit` keeps the first n images.
  ///
  /// Checked, each error naming the file: at least one image; as many labels as images; every
  /// label in 0..<`classCount` (nil: any label ≥ 0); images of `imageSize` [height, width] when given
  /// (e.g. 28×28 for the LeNets).
  public static func load(
    directory: String, split: Split, limit: Int? = nil, mean: Float = MNIST.mean, std: Float = MNIST.std,
    classCount: Int? = nil, imageSize: [Int]? = nil
  ) throws -> ImageDataset {
    if let limit, limit < 1 {
      throw TrainingError.invalidArgument(what: "limit", message: "expected at least 1 image, got \(limit)")
    }
    let imagePath = try file(in: directory, split: split, labels: false)
    let labelPath = try file(in: directory, split: split, labels: true)
    let images = try IDXArray.read(path: imagePath, expectedRank: 3)
    let labels = try IDXArray.read(path: labelPath, expectedRank: 1)
    guard images.shape[0] > 0 else {
      throw TrainingError.malformed(
        file: imagePath, offset: 4, expected: "at least one image", found: "0 images (an empty data set)")
    }
    guard images.shape[0] == labels.shape[0] else {
      throw TrainingError.malformed(
        file: labelPath, offset: 4, expected: "\(images.shape[0]) labels (as in \(imagePath))",
        found: "\(labels.shape[0])")
    }
    if let imageSize, Array(images.shape.dropFirst()) != imageSize {
      throw TrainingError.malformed(
        file: imagePath, offset: 8,
        expected: "images of \(imageSize.map(String.init).joined(separator: "×")) pixels (what the model reads)",
        found: "\(images.shape[1])×\(images.shape[2])")
    }
    let n = min(limit ?? images.shape[0], images.shape[0])
    let (h, w) = (images.shape[1], images.shape[2])
    let scale = 1 / (255 * std)
    let shift = mean / std
    let pixels: [Float]
    if images.elementType == .uint8 {
      pixels = images.payload[0..<(n * h * w)].map { Float($0) * scale - shift }
    } else {
      pixels = images.floats()[0..<(n * h * w)].map { $0 * scale - shift }
    }
    let labelValues = Array(labels.ints()[0..<n])
    let limitText = classCount.map { "0..<\($0)" } ?? "≥ 0"
    for (i, label) in labelValues.enumerated() where label < 0 || label >= (classCount ?? .max) {
      throw TrainingError.malformed(
        file: labelPath, offset: 8 + i * labels.elementType.byteWidth,
        expected: "a class label in \(limitText)", found: "\(label) (label of image \(i))")
    }
    let classCount = classCount ?? max(10, (labelValues.max() ?? 9) + 1)
    return ImageDataset(
      images: pixels, labels: labelValues, channels: 1, height: h, width: w, classCount: classCount)
  }

  /// Where the default MNIST copy is found, in this order:
  /// 1. `$PRUNEKIT_DATA/mnist` (or `$PRUNEKIT_DATA` itself if it holds the files);
  /// 2. `Data/mnist` under the working directory;
  /// 3. `Data/mnist` under the executable's folder and each of its parents (so `.build/release/prunekit`
  ///    finds the repository's copy from anywhere).
  /// Throws `dataNotFound` listing every folder tried.
  public static func defaultDirectory(executablePath: String?) throws -> String {
    var tried: [String] = []
    func holdsMNIST(_ dir: String) -> Bool {
      tried.append(dir)
      return (try? file(in: dir, split: .train, labels: false)) != nil
    }
    if let env = getenv("PRUNEKIT_DATA").map({ String(cString: $0) }), !env.isEmpty {
      for dir in [env + "/mnist", env] where holdsMNIST(dir) { return dir }
    }
    if let cwd = currentDirectory(), holdsMNIST(cwd + "/Data/mnist") { return cwd + "/Data/mnist" }
    if let exe = executablePath {
      var dir = parent(of: resolve(exe))
      while !dir.isEmpty {
        if holdsMNIST(dir + "/Data/mnist") { return dir + "/Data/mnist" }
        if dir == "/" { break }
        dir = parent(of: dir)
      }
    }
    throw TrainingError.dataNotFound(
      what: "MNIST (train-images-idx3-ubyte[.gz] …)", searched: tried,
      hint: "Pass --data DIR, set PRUNEKIT_DATA, or run from the repository (it ships Data/mnist).")
  }

  static func currentDirectory() -> String? {
    var buffer = [CChar](repeating: 0, count: 4096)
    guard getcwd(&buffer, buffer.count) != nil else { return nil }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  static func resolve(_ path: String) -> String {
    guard let real = realpath(path, nil) else { return path }
    defer { free(real) }
    return String(cString: real)
  }

  static func parent(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "" }
    let p = String(path[..<slash])
    return p.isEmpty ? "/" : p
  }
}
