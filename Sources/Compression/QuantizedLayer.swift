import ModelGraph
import TensorCore

/// How the surviving values of a layer are stored. On-disk codes: append-only, never renumber.
public enum QuantizationScheme: UInt8, Sendable, CaseIterable, CustomStringConvertible {
  /// k-means weight sharing: a codebook of ≤ 2^bits Float32 centroids, one index per value.
  case kmeans = 1
  /// Affine int8 per output channel: value = (q − zeroPoint)·scale.
  case int8 = 2
  /// No quantization: each surviving value as its Float32 bit pattern (the paper's "pruned" stage).
  case float32 = 3

  public var description: String {
    switch self {
    case .kmeans: return "kmeans"
    case .int8: return "int8"
    case .float32: return "float32"
    }
  }
}

/// Paper's distinction for bit widths: convolution layers (8 bits, 4-bit gaps) and fully connected
/// layers (5 bits, 5-bit gaps). On-disk codes: append-only.
public enum LayerKind: UInt8, Sendable, CaseIterable, CustomStringConvertible {
  case fullyConnected = 1
  case convolution = 2

  /// Rank ≥ 3 weights are convolution kernels ([out, in/groups, kH, kW]); rank 2 is fully connected.
  public init(shape: [Int]) { self = shape.count >= 3 ? .convolution : .fullyConnected }

  public var description: String { self == .convolution ? "conv" : "fc" }
}

/// One compressed weight tensor: where its surviving entries are, and how their values are coded.
public struct QuantizedLayer: Sendable, Equatable {
  public var name: String
  public var shape: [Int]
  public var kind: LayerKind
  /// Flat row-major indices of the stored entries, strictly ascending.
  public var positions: [Int]
  /// The dtype of the graph's pruning mask for this weight, or nil when it had none. A restored mask
  /// is 1 at `positions` and 0 elsewhere.
  public var maskDType: DType?
  public var scheme: QuantizationScheme
  /// Bits per value symbol (k-means: log2 of the codebook capacity; int8: 8; float32: 32).
  public var bits: Int
  /// k-means: centroids; int8: one scale per output channel; float32: empty.
  public var codebook: [Float]
  /// int8 only: one zero point per output channel.
  public var zeroPoints: [Int8]
  /// One symbol per entry: cluster index, int8 bit pattern, or Float32 bit pattern.
  public var symbols: [UInt32]

  public var count: Int { Tensor.elementCount(shape) }
  /// Elements per output channel (shape[0]) in row-major order.
  public var channelStride: Int { shape.isEmpty || shape[0] == 0 ? 1 : count / shape[0] }

  /// The value of every stored entry, in `positions` order.
  public func values() -> [Float] {
    switch scheme {
    case .kmeans:
      return symbols.map { codebook[Int($0)] }
    case .float32:
      return symbols.map { Float(bitPattern: $0) }
    case .int8:
      return dequantizeInt8(
        symbols: symbols, positions: positions, channelStride: channelStride, scales: codebook,
        zeroPoints: zeroPoints)
    }
  }

  /// The dense weight: values at `positions`, exact zeros elsewhere.
  public func dequantized() -> Tensor {
    var dense = [Float](repeating: 0, count: count)
    for (p, v) in zip(positions, values()) { dense[p] = v }
    return Tensor(shape: shape, floats: dense)
  }

  /// The restored pruning mask, when the layer had one.
  public func mask() -> Tensor? {
    guard let dtype = maskDType else { return nil }
    var dense = [Float](repeating: 0, count: count)
    for p in positions { dense[p] = 1 }
    return Tensor(shape: shape, floats: dense).converted(to: dtype)
  }
}

/// The surviving entries of a weight: where the mask is non-zero, or (without a mask) where the
/// weight is non-zero. Returns flat positions and their values.
public func survivingEntries(of weight: Tensor, mask: Tensor?) -> (positions: [Int], values: [Float]) {
  let w = weight.asFloats()
  let keep: [Bool] = mask.map { m in m.asFloats().map { $0 != 0 } } ?? w.map { $0 != 0 }
  precondition(keep.count == w.count, "survivingEntries: mask of \(keep.count) for weight of \(w.count)")
  var positions = [Int]()
  var values = [Float]()
  for i in 0..<w.count where keep[i] {
    positions.append(i)
    values.append(w[i])
  }
  return (positions, values)
}

/// Weight sharing for one layer (Deep Compression §3): k-means with 2^bits clusters on the surviving
/// values (linear initialisation); clusters left empty are dropped and the indices renumbered, so the
/// stored codebook holds only used centroids.
public func shareWeights(
  name: String, weight: Tensor, mask: Tensor?, bits: Int, maxIterations: Int = 30
) -> QuantizedLayer {
  precondition(bits >= 1 && bits <= 16, "shareWeights(\(name)): bits \(bits) not in 1...16")
  let (positions, values) = survivingEntries(of: weight, mask: mask)
  let result = kmeans(values, clusters: 1 << bits, maxIterations: maxIterations)
  var used = [Bool](repeating: false, count: result.centroids.count)
  for a in result.assignments { used[Int(a)] = true }
  var renumber = [UInt32](repeating: 0, count: used.count)
  var codebook = [Float]()
  for j in used.indices where used[j] {
    renumber[j] = UInt32(codebook.count)
    codebook.append(result.centroids[j])
  }
  return QuantizedLayer(
    name: name, shape: weight.shape, kind: LayerKind(shape: weight.shape), positions: positions,
    maskDType: mask?.dtype, scheme: .kmeans, bits: bits, codebook: codebook, zeroPoints: [],
    symbols: result.assignments.map { renumber[Int($0)] })
}

/// The surviving values kept as Float32 (no quantization): the paper's "after pruning" stage.
public func keepFloat32(name: String, weight: Tensor, mask: Tensor?) -> QuantizedLayer {
  let (positions, values) = survivingEntries(of: weight, mask: mask)
  return QuantizedLayer(
    name: name, shape: weight.shape, kind: LayerKind(shape: weight.shape), positions: positions,
    maskDType: mask?.dtype, scheme: .float32, bits: 32, codebook: [], zeroPoints: [],
    symbols: values.map { $0.bitPattern })
}
