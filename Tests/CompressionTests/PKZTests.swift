import Foundation
import ModelGraph
import TensorCore
import Testing

@testable import Compression

/// A LeNet-like graph: a 5×5 conv (50% kept), two FC layers (10% and 30% kept), raw biases, and
/// every kind of node attribute, value shape and metadata the graph codec must carry.
func syntheticGraph(seed: UInt64 = 1) -> Graph {
  let (conv, convMask) = sparseWeight([8, 1, 5, 5], density: 0.5, seed: seed)
  let (fc1, fc1Mask) = sparseWeight([100, 1152], density: 0.1, seed: seed + 10)
  let (fc2, _) = sparseWeight([10, 100], density: 0.3, seed: seed + 20)
  let nodes = [
    Node(
      name: "conv", opType: "Conv", inputs: ["x", "conv.w", "conv.b"], outputs: ["c"],
      attributes: ["pads": .ints([0, 0, 0, 0]), "strides": .ints([1, 1]), "group": .int(1)]),
    Node(name: "relu", opType: "Relu", inputs: ["c"], outputs: ["r"]),
    Node(name: "flat", opType: "Flatten", inputs: ["r"], outputs: ["f"], attributes: ["axis": .int(1)]),
    Node(
      name: "fc1", opType: "Gemm", inputs: ["f", "fc1.w", "fc1.b"], outputs: ["h"],
      attributes: [
        "transB": .int(1), "alpha": .float(1), "note": .string("ß"), "fs": .floats([0.5, -2]),
        "ss": .strings(["a", ""]), "t": .tensor(Tensor(shape: [2], int64s: [-3, 4])),
      ]),
    Node(
      name: "fc2", opType: "Gemm", inputs: ["h", "fc2.w", ""], outputs: ["y"], attributes: ["transB": .int(1)]
    ),
  ]
  return Graph(
    name: "lenet-ish",
    nodes: nodes,
    initializers: [
      "conv.w": conv, "conv.b": Tensor.normal([8], seed: seed + 2), "fc1.w": fc1,
      "fc1.b": Tensor.normal([100], seed: seed + 3), "fc2.w": fc2,
      "shape": Tensor(shape: [2], int64s: [1, -1]),
      "half": Tensor.normal([4, 4], seed: 9).converted(to: .float16),
    ],
    initializerOrder: ["conv.w", "conv.b", "fc1.w", "fc1.b", "fc2.w", "shape", "half"],
    inputs: [
      ValueInfo(name: "x", dtype: .float32, shape: [.symbolic("batch"), .fixed(1), .fixed(28), .fixed(28)])
    ],
    outputs: [ValueInfo(name: "y", dtype: .float32, shape: nil)],
    opsetVersion: 17,
    masks: [
      "conv.w": convMask, "fc1.w": fc1Mask.converted(to: .uint8), "conv.b": Tensor.filled([8], with: 1),
    ],
    metadata: ["producer": "test", "source": "synthetic"])
}

/// Section byte ranges of an encoded file, read back from its header, plus the framing parts.
func sectionRanges(_ bytes: [UInt8]) throws -> [(String, Range<Int>)] {
  let ranges = try validateFraming(bytes)
  let headerEnd = ranges[.graph]!.lowerBound
  var out = [("header", 0..<headerEnd)]
  for kind in PKZFormat.Section.allCases { out.append((kind.description, ranges[kind]!)) }
  out.append(("trailer", (bytes.count - 4)..<bytes.count))
  out.append(("file", (bytes.count - 8)..<(bytes.count - 4)))
  return out
}

@Suite struct PKZTests {
  @Test(arguments: QuantizationScheme.allCases, [false, true])
  func roundTripIsBitExact(scheme: QuantizationScheme, entropy: Bool) throws {
    let options = CompressionOptions(scheme: scheme, entropyCoding: entropy)
    let model = quantize(syntheticGraph(), options: options)
    #expect(model.layers.map(\.name) == ["conv.w", "fc1.w", "fc2.w"])
    let (bytes, report) = encodePKZ(model, options: options)
    let (back, readReport) = try decodePKZWithReport(bytes)
    #expect(back == model)
    // The reader accounts for every byte exactly as the writer did (`inspect x.pkz` prints it).
    #expect(readReport == report)
    #expect(back.graph == model.graph)
    #expect(report.totalBytes == bytes.count)
    let parts = report.framingBytes + report.graphBytes + report.layers.reduce(0) { $0 + $1.totalBytes }
    #expect(parts == bytes.count)
    // Float32 scheme keeps the surviving weights exactly; pruned ones are exact zeros.
    if scheme == .float32 {
      let original = syntheticGraph()
      let mask = original.masks["fc1.w"]!.asFloats()
      let w = original.initializers["fc1.w"]!.floats
      #expect(back.graph.initializers["fc1.w"]!.floats == zip(w, mask).map { $1 != 0 ? $0 : 0 })
    }
  }

  @Test func reportedSizeIsTheFileSizeOnDisk() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pkz-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("m.pkz").path
    let model = quantize(syntheticGraph())
    let report = try writePKZ(model, to: path)
    let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
    #expect(size == report.totalBytes)
    #expect(try Graph(pkz: path) == model.graph)
    // Atomic write: no temporary file is left beside the output.
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["m.pkz"])
    // Entropy coding makes the file smaller than fixed-width streams, which beat Float32 values.
    let fixed = encodePKZ(model, options: CompressionOptions(entropyCoding: false)).report.totalBytes
    let pruned = encodePKZ(quantize(syntheticGraph(), options: CompressionOptions(scheme: .float32))).report
    #expect(report.totalBytes < fixed && fixed < pruned.totalBytes)
  }

  @Test func everySectionChecksumCatchesAFlippedBit() throws {
    let (bytes, _) = encodePKZ(quantize(syntheticGraph()))
    for (section, range) in try sectionRanges(bytes) {
      // Bits at the start, middle and end of the section; the magic bytes (a separate check) excluded.
      for index in Set([
        range.lowerBound + (section == "header" ? 8 : 0), range.lowerBound + range.count / 2,
        range.upperBound - 1,
      ]) {
        for bit in [0, 7] {
          var corrupt = bytes
          corrupt[index] ^= 1 << bit
          let error = #expect(throws: CompressionError.self) { try decodePKZ(corrupt) }
          #expect(
            error?.section == section, "byte \(index) bit \(bit) of \(section): \(String(describing: error))")
        }
      }
    }
  }

  @Test func badMagicAndTruncationNameTheSection() throws {
    let (bytes, _) = encodePKZ(quantize(syntheticGraph()))
    var wrong = bytes
    wrong[1] = 0x51
    #expect(throws: CompressionError.badMagic(offset: 0, found: Array(wrong[0..<8]))) { try decodePKZ(wrong) }
    let ranges = try sectionRanges(bytes)
    for cut in [
      0, 5, 12, 40, ranges[1].1.lowerBound + 3, ranges[3].1.upperBound - 1, bytes.count - 5, bytes.count - 1,
    ] {
      let error = #expect(throws: CompressionError.self) { try decodePKZ(Array(bytes[0..<cut])) }
      let description = error.map(String.init(describing:)) ?? ""
      #expect(description.contains("section '") && description.contains("byte"), "\(cut): \(description)")
      #expect(error?.section != nil)
    }
  }

  @Test func corruptContentBehindValidChecksumsIsRejectedNotTrusted() throws {
    // Flip bytes inside the layers and streams sections, then re-sign every checksum: the decoder must
    // throw a CompressionError naming a section (or decode something else), never trap.
    let (bytes, _) = encodePKZ(quantize(syntheticGraph()))
    var rng = SeededGenerator(seed: 77)
    var rejected = 0
    for trial in 0..<300 {
      let sections = try validateFraming(bytes)
      let kind: PKZFormat.Section = [.layers, .streams, .codebooks, .graph][trial % 4]
      let range = sections[kind]!
      var corrupt = bytes
      let index = range.lowerBound + Int(rng.next() % UInt64(range.count))
      corrupt[index] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
      resign(&corrupt, sections: sections)
      do {
        _ = try decodePKZ(corrupt)
      } catch let error as CompressionError {
        #expect(error.section != nil, "\(error)")
        rejected += 1
      }
    }
    #expect(rejected > 100)
  }
}

/// Recomputes the section, header and file CRCs of a file whose section ranges are unchanged.
func resign(_ bytes: inout [UInt8], sections: [PKZFormat.Section: Range<Int>]) {
  func put(_ v: UInt32, at offset: Int) {
    for i in 0..<4 { bytes[offset + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) }
  }
  for (slot, kind) in PKZFormat.Section.allCases.enumerated() {
    put(CRC32.checksum(bytes[sections[kind]!]), at: 16 + 24 * slot + 4)
  }
  let headerEnd = sections[.graph]!.lowerBound
  put(CRC32.checksum(bytes[0..<(headerEnd - 4)]), at: headerEnd - 4)
  put(CRC32.checksum(bytes[0..<(bytes.count - 8)]), at: bytes.count - 8)
}
