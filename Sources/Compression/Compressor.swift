import ModelGraph
import TensorCore

/// What to compress and how. Defaults are the paper's (Deep Compression, Table 2–3): 8-bit
/// codebooks and 4-bit gaps for convolutions, 5-bit codebooks and 5-bit gaps for FC layers.
public struct CompressionOptions: Sendable, Equatable {
  public var scheme: QuantizationScheme
  /// Codebook bits per layer kind (k-means; int8 is always 8, float32 always 32).
  public var bits: [LayerKind: Int]
  /// Relative-gap bits per layer kind.
  public var indexBits: [LayerKind: Int]
  /// Allow Huffman/constant stream coding (off = the paper's "after quantization" stage).
  public var entropyCoding: Bool
  /// Float32 weights of rank ≥ 2 with at least this many elements are compressed; others stay raw.
  public var minimumElements: Int
  public var kmeansIterations: Int

  public init(
    scheme: QuantizationScheme = .kmeans, convBits: Int = 8, fcBits: Int = 5, convIndexBits: Int = 4,
    fcIndexBits: Int = 5, entropyCoding: Bool = true, minimumElements: Int = 64, kmeansIterations: Int = 30
  ) {
    self.scheme = scheme
    self.bits = [.convolution: convBits, .fullyConnected: fcBits]
    self.indexBits = [.convolution: convIndexBits, .fullyConnected: fcIndexBits]
    self.entropyCoding = entropyCoding
    self.minimumElements = minimumElements
    self.kmeansIterations = kmeansIterations
  }
}

/// A graph whose large weights are quantized, and the quantized layers that hold them. `graph`
/// carries the dequantized weights (and restored masks): it is exactly what decoding a `.pkz` gives.
public struct CompressedModel: Sendable, Equatable {
  public var graph: Graph
  public var layers: [QuantizedLayer]

  public init(graph: Graph, layers: [QuantizedLayer]) {
    self.graph = graph
    self.layers = layers
  }

  /// Writes every layer's dequantized weight (and mask) into `graph` (after centroid fine-tuning).
  public mutating func refreshGraph() {
    for layer in layers {
      graph.initializers[layer.name] = layer.dequantized()
      graph.masks[layer.name] = layer.mask()
    }
  }
}

/// Names of the initializers `options` compresses, in declaration order.
public func compressibleWeights(of graph: Graph, minimumElements: Int) -> [String] {
  graph.orderedInitializers.filter { _, t in
    t.dtype == .float32 && t.rank >= 2 && t.count >= max(minimumElements, 1)
  }.map(\.name)
}

/// Quantizes the compressible weights of `graph` with `options.scheme`.
public func quantize(_ graph: Graph, options: CompressionOptions = CompressionOptions()) -> CompressedModel {
  let names = compressibleWeights(of: graph, minimumElements: options.minimumElements)
  let layers = names.map { name -> QuantizedLayer in
    let weight = graph.initializers[name]!
    let mask = graph.masks[name]
    switch options.scheme {
    case .kmeans:
      let bits = options.bits[LayerKind(shape: weight.shape)] ?? 8
      return shareWeights(
        name: name, weight: weight, mask: mask, bits: bits, maxIterations: options.kmeansIterations)
    case .int8:
      return quantizeInt8(name: name, weight: weight, mask: mask)
    case .float32:
      return keepFloat32(name: name, weight: weight, mask: mask)
    }
  }
  var model = CompressedModel(graph: graph, layers: layers)
  model.refreshGraph()
  return model
}

/// Bytes of one compressed layer in a `.pkz` file, and how each part is coded.
public struct PKZLayerReport: Sendable, Equatable {
  public var name: String
  public var shape: [Int]
  public var kind: LayerKind
  public var scheme: QuantizationScheme
  public var bits: Int
  /// Stored entries (surviving weights) out of `elements`.
  public var entries: Int
  public var elements: Int
  public var indexCoding: IndexCoding
  /// Bits per relative gap (0 when the positions are stored as CSR).
  public var indexBits: Int
  public var valueCoding: StreamCoding
  public var codebookBytes: Int
  public var indexBytes: Int
  public var valueBytes: Int
  /// Bytes of this layer's record in the layer table.
  public var tableBytes: Int

  public var totalBytes: Int { codebookBytes + indexBytes + valueBytes + tableBytes }
  /// Dense Float32 bytes of the weight.
  public var denseBytes: Int { elements * 4 }
}

/// Where every byte of a `.pkz` file went. `totalBytes` is the file's size.
public struct PKZReport: Sendable, Equatable {
  public var layers: [PKZLayerReport]
  /// Header, section table and trailer.
  public var framingBytes: Int
  /// The graph section: structure, raw (uncompressed) tensors, raw masks.
  public var graphBytes: Int
  public var totalBytes: Int
  /// Float32 bytes of every parameter, dense (compressed layers counted as dense Float32).
  public var denseParameterBytes: Int

  public var ratio: Double { Double(denseParameterBytes) / Double(max(totalBytes, 1)) }
}
