import Foundation
import ModelGraph
import TensorCore
import Testing

@testable import Compression

/// Relative tolerance between the fast and reference k-means centroids (sums in another order).
let kmeansCentroidTolerance: Float = 1e-6

/// A seeded sparse weight: normal values, `density` of them kept.
func sparseWeight(_ shape: [Int], density: Float, seed: UInt64) -> (weight: Tensor, mask: Tensor) {
  let w = Tensor.normal(shape, std: 0.1, seed: seed).floats
  let u = Tensor.uniform(shape, seed: seed &+ 1).floats
  let keep = u.map { $0 < density ? Float(1) : 0 }
  return (Tensor(shape: shape, floats: zip(w, keep).map { $0 * $1 }), Tensor(shape: shape, floats: keep))
}

@Suite struct QuantizationTests {
  @Test(arguments: [(1000, 32), (5000, 256), (37, 4), (3000, 2), (10, 32)])
  func kmeansFastMatchesReference(n: Int, k: Int) {
    var values = Tensor.normal([n], seed: UInt64(n + k)).floats
    values += values.prefix(n / 10)  // duplicated values: ties at equal points
    let fast = kmeans(values, clusters: k)
    let reference = kmeansReference(values, clusters: k)
    #expect(fast.assignments == reference.assignments)
    #expect(fast.iterations == reference.iterations)
    for (a, b) in zip(fast.centroids, reference.centroids) {
      #expect(abs(a - b) <= kmeansCentroidTolerance * max(1, abs(b)))
    }
    // Lloyd's property: every value's centroid is its nearest.
    for (x, a) in zip(values, fast.assignments) {
      let d = abs(x - fast.centroids[Int(a)])
      #expect(fast.centroids.allSatisfy { abs(x - $0) >= d })
    }
  }

  @Test func kmeansStartsFromLinearInitialisationAndHandlesDegenerateInputs() {
    #expect(linearCentroids(low: -1, high: 1, count: 5) == [-1, -0.5, 0, 0.5, 1])
    let same = kmeans([Float](repeating: 0.25, count: 50), clusters: 8)
    #expect(Set(same.assignments).count == 1)
    #expect(same.centroids[Int(same.assignments[0])] == 0.25)
    #expect(kmeans([], clusters: 4).assignments.isEmpty)
  }

  @Test func weightSharingKeepsMaskAndUsesAtMostTwoToTheBitsValues() {
    let (w, m) = sparseWeight([64, 50], density: 0.1, seed: 5)
    let layer = shareWeights(name: "fc", weight: w, mask: m, bits: 5)
    #expect(layer.codebook.count <= 32)
    let q = layer.dequantized().floats
    #expect(zip(q, m.floats).allSatisfy { $1 == 0 ? $0 == 0 : true })
    #expect(Set(q.filter { $0 != 0 }).count <= 32)
    #expect(layer.mask() == m)
    // Quantization error is small against the weights' spread.
    let err = zip(q, w.floats).map { abs($0 - $1) }.max()!
    #expect(err < 0.05)
  }

  @Test func int8DequantizerMatchesReferenceBitForBit() {
    let (w, m) = sparseWeight([16, 3, 5, 5], density: 0.5, seed: 9)
    let layer = quantizeInt8(name: "conv", weight: w, mask: m)
    let fast = layer.values()
    for (i, (p, s)) in zip(layer.positions, layer.symbols).enumerated() {
      let c = p / layer.channelStride
      let params = Int8ChannelParameters(scale: layer.codebook[c], zeroPoint: layer.zeroPoints[c])
      let ref = dequantizeInt8Reference(Int8(truncatingIfNeeded: s), params)
      #expect(fast[i].bitPattern == ref.bitPattern)
      // Error within half a step of the channel's scale.
      #expect(abs(fast[i] - w.floats[p]) <= params.scale * 0.5 + 1e-7)
    }
    #expect(
      Int8ChannelParameters(low: -1, high: 1).quantize(0) == Int8ChannelParameters(low: -1, high: 1).zeroPoint
    )
  }

  @Test(arguments: [2, 3, 4, 5, 8])
  func relativeGapsInsertFillersOnOverflow(bits: Int) {
    // Gaps of every size around the filler boundary F = 2^b − 1.
    let f = (1 << bits) - 1
    var positions = [Int]()
    var p = -1
    for gap in [0, 1, f - 1, f, f + 1, 2 * f, 2 * f + 1, 3 * f + 2, 0] {
      p += gap + 1
      positions.append(p)
    }
    let symbols = RelativeGapCoding.encode(positions: positions, bits: bits)
    #expect(symbols.allSatisfy { $0 <= UInt32(f) })
    let fillers = symbols.filter { $0 == UInt32(f) }.count
    #expect(fillers == [f, f + 1, 2 * f, 2 * f + 1, 3 * f + 2].map { $0 / f }.reduce(0, +))
    #expect(symbols.count == positions.count + fillers)
    #expect(RelativeGapCoding.decode(symbols, bits: bits, count: p + 1) == positions)
    #expect(RelativeGapCoding.decode(symbols, bits: bits, count: p) == nil)
  }

  @Test(arguments: [0.0 as Float, 0.01, 0.1, 0.5, 1.0])
  func sparseIndexBlobRoundTripsAndPicksTheSmaller(density: Float) throws {
    let (w, m) = sparseWeight([40, 30], density: density, seed: 21)
    let (positions, _) = survivingEntries(of: w, mask: m)
    for entropy in [false, true] {
      let blob = SparseIndexBlob.encode(
        positions: positions, shape: [40, 30], gapBits: 5, entropyCoding: entropy)
      var r = ByteReader(bytes: blob, section: "streams")
      #expect(try SparseIndexBlob.decode(&r, shape: [40, 30], entries: positions.count) == positions)
      #expect(r.isAtEnd)
    }
    let (counts, cols) = CSRCoding.encode(positions: positions, rows: 40, columns: 30)
    #expect(CSRCoding.decode(rowCounts: counts, cols: cols, columns: 30) == positions)
  }

  @Test func centroidGradientsSumTheGradientsOfEachCluster() throws {
    let w = Tensor(shape: [2, 3], floats: [0.1, 0, 0.5, 0.1, 0.5, -0.2])
    var layer = shareWeights(name: "w", weight: w, mask: nil, bits: 2)
    let grad: [Float] = [1, 100, 2, 3, 4, 5]
    let sums = centroidGradients(of: layer, weightGradient: grad)
    // Clusters {0.1, 0.1} ← 1 + 3, {0.5, 0.5} ← 2 + 4, {−0.2} ← 5; the pruned zero's 100 is ignored.
    #expect(sums.sorted() == [4, 5, 6])
    struct Constant: WeightGradientSource {
      func gradients(of graph: Graph, for names: [String]) throws -> [String: Tensor] {
        ["w": Tensor(shape: [2, 3], floats: [1, 100, 2, 3, 4, 5])]
      }
    }
    var graph = Graph(initializers: ["w": w])
    var source = Constant()
    var layers = [layer]
    try fineTuneCentroids(
      &layers, in: &graph, source: &source,
      settings: CentroidFineTuning(steps: 1, learningRate: 0.01, momentum: 0))
    layer = layers[0]
    let tuned = graph.initializers["w"]!.floats
    #expect(tuned[1] == 0)
    #expect(abs(tuned[0] - (0.1 - 0.04)) < 1e-6 && tuned[0] == tuned[3])
    #expect(abs(tuned[5] - (-0.2 - 0.05)) < 1e-6)
    #expect(graph.initializers["w"] == layer.dequantized())
    // Cosine decay over 4 steps, no momentum: the {−0.2} centroid moves by
    // 0.01 · 5 · Σ_t ½(1 + cos(πt/4)).
    var cosine = [shareWeights(name: "w", weight: w, mask: nil, bits: 2)]
    var decayed = Graph(initializers: ["w": w])
    let settings = CentroidFineTuning(steps: 4, learningRate: 0.01, momentum: 0, cosineDecay: true)
    try fineTuneCentroids(&cosine, in: &decayed, source: &source, settings: settings)
    let factors = (0..<4).map { 0.5 * (1 + cos(Double.pi * Double($0) / 4)) }
    #expect(settings.rate(atStep: 0) == 0.01 && settings.rate(atStep: 2) == 0.005)
    #expect(abs(Double(decayed.initializers["w"]!.floats[5]) - (-0.2 - 0.05 * factors.reduce(0, +))) < 1e-6)
  }
}
