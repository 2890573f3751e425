import Foundation
import ModelGraph
import TensorCore

/// Reads `.pkz` bytes: framing and every checksum first (header, each section, whole file), then the
/// sections. Every failure is a `CompressionError` naming the section and the byte offset.
public func decodePKZ(_ bytes: [UInt8]) throws -> CompressedModel {
  try decodePKZWithReport(bytes).model
}

/// `decodePKZ`, plus where the file's bytes went (the same `PKZReport` the writer returned):
/// per layer the codebook, index and value bytes read from the layer table.
public func decodePKZWithReport(_ bytes: [UInt8]) throws -> (model: CompressedModel, report: PKZReport) {
  let sections = try validateFraming(bytes)
  func reader(_ kind: PKZFormat.Section) -> ByteReader {
    ByteReader(bytes: bytes, range: sections[kind]!, section: kind.description)
  }
  var graphReader = reader(.graph)
  let (graph, slots) = try GraphCodec.decode(&graphReader)
  var table = reader(.layers)
  let layerCount = try table.count("layer count", limit: table.remaining)
  var layers = [QuantizedLayer]()
  var reports = [PKZLayerReport]()
  for _ in 0..<layerCount {
    let recordStart = table.fileOffset
    var blobs = LayerBlobs()
    let layer = try readLayer(
      &table, bytes: bytes, codebooks: sections[.codebooks]!, streams: sections[.streams]!, blobs: &blobs)
    layers.append(layer)
    reports.append(
      PKZLayerReport(
        name: layer.name, shape: layer.shape, kind: layer.kind, scheme: layer.scheme, bits: layer.bits,
        entries: layer.positions.count, elements: layer.count,
        indexCoding: SparseIndexBlob.coding(of: Array(bytes[blobs.index])) ?? .relativeGaps,
        indexBits: blobs.gapBits, valueCoding: SymbolStream.coding(of: Array(bytes[blobs.values])) ?? .fixedWidth,
        codebookBytes: blobs.codebook.count, indexBytes: blobs.index.count, valueBytes: blobs.values.count,
        tableBytes: table.fileOffset - recordStart))
  }
  guard table.isAtEnd else {
    throw table.corrupt(expected: "end of the layer table", found: "\(table.remaining) bytes")
  }
  guard Set(slots) == Set(layers.map(\.name)), slots.count == layers.count else {
    throw CompressionError.corrupt(
      section: "layers", offset: sections[.layers]!.lowerBound,
      expected: "one layer per compressed initializer \(slots)", found: "\(layers.map(\.name))")
  }
  var model = CompressedModel(graph: graph, layers: layers)
  model.refreshGraph()
  let sectionBytes = sections.values.reduce(0) { $0 + $1.count }
  let tableRecords = reports.reduce(0) { $0 + $1.tableBytes }
  let report = PKZReport(
    layers: reports, framingBytes: bytes.count - sectionBytes + sections[.layers]!.count - tableRecords,
    graphBytes: sections[.graph]!.count, totalBytes: bytes.count,
    denseParameterBytes: model.graph.orderedInitializers.reduce(0) { $0 + $1.tensor.count * 4 })
  return (model, report)
}

/// The byte ranges of one layer's codebook and streams in the file, and its relative-gap width.
struct LayerBlobs {
  var codebook = 0..<0
  var index = 0..<0
  var values = 0..<0
  var gapBits = 0
}

/// Checks magic, version, header CRC, section ranges and CRCs, the trailer and the file CRC.
/// Returns each section's byte range.
func validateFraming(_ bytes: [UInt8]) throws -> [PKZFormat.Section: Range<Int>] {
  var header = ByteReader(bytes: bytes, section: "header")
  let minimum = PKZFormat.fixedHeaderBytes + 4 + PKZFormat.trailerBytes
  guard bytes.count >= PKZFormat.magic.count else {
    throw CompressionError.truncated(section: "header", offset: 0, needed: minimum, available: bytes.count)
  }
  let magic = try header.raw(PKZFormat.magic.count)
  guard magic == PKZFormat.magic else { throw CompressionError.badMagic(offset: 0, found: magic) }
  let version = Int(try header.u16())
  guard version == PKZFormat.version else {
    throw CompressionError.unsupportedVersion(offset: 8, found: version, supported: PKZFormat.version)
  }
  let count = Int(try header.u16())
  let headerLength = Int(try header.u32())
  guard headerLength == PKZFormat.fixedHeaderBytes + PKZFormat.sectionEntryBytes * count + 4 else {
    throw CompressionError.corrupt(
      section: "header", offset: 12, expected: "header length for \(count) sections", found: "\(headerLength)"
    )
  }
  guard headerLength + PKZFormat.trailerBytes <= bytes.count else {
    throw CompressionError.truncated(
      section: "header", offset: 0, needed: headerLength + PKZFormat.trailerBytes, available: bytes.count)
  }
  let headerCRC = CRC32.checksum(bytes[0..<(headerLength - 4)])
  var crcReader = ByteReader(bytes: bytes, range: (headerLength - 4)..<headerLength, section: "header")
  let storedHeaderCRC = try crcReader.u32()
  guard storedHeaderCRC == headerCRC else {
    throw CompressionError.checksumMismatch(
      section: "header", offset: 0, length: headerLength, expected: storedHeaderCRC, found: headerCRC)
  }
  let trailerStart = bytes.count - PKZFormat.trailerBytes
  var ranges = [PKZFormat.Section: Range<Int>]()
  var expectedOffset = headerLength
  for _ in 0..<count {
    let at = header.fileOffset
    let code = try header.u16()
    guard let kind = PKZFormat.Section(rawValue: code), ranges[kind] == nil else {
      throw CompressionError.unknownCode(
        section: "header", offset: at, kind: "section (or a repeated one)", code: Int(code))
    }
    _ = try header.u16()
    let crc = try header.u32()
    let offset = try header.u64()
    let length = try header.u64()
    guard offset == UInt64(expectedOffset), length <= UInt64(Int.max / 2) else {
      throw CompressionError.corrupt(
        section: "header", offset: at, expected: "section '\(kind)' at byte \(expectedOffset)",
        found: "\(offset)")
    }
    guard expectedOffset + Int(length) <= trailerStart else {
      throw CompressionError.truncated(
        section: kind.description, offset: expectedOffset, needed: Int(length),
        available: max(0, trailerStart - expectedOffset))
    }
    let range = expectedOffset..<(expectedOffset + Int(length))
    let found = CRC32.checksum(bytes[range])
    guard found == crc else {
      throw CompressionError.checksumMismatch(
        section: kind.description, offset: range.lowerBound, length: range.count, expected: crc, found: found)
    }
    ranges[kind] = range
    expectedOffset = range.upperBound
  }
  for kind in PKZFormat.Section.allCases where ranges[kind] == nil {
    throw CompressionError.corrupt(
      section: "header", offset: 16, expected: "a '\(kind)' section", found: "none")
  }
  guard expectedOffset == trailerStart else {
    throw CompressionError.corrupt(
      section: "trailer", offset: expectedOffset, expected: "the trailer after the last section",
      found: "\(trailerStart - expectedOffset) unaccounted bytes")
  }
  var trailer = ByteReader(bytes: bytes, range: trailerStart..<bytes.count, section: "trailer")
  let fileCRC = try trailer.u32()
  guard try trailer.raw(4) == PKZFormat.endMagic else {
    throw CompressionError.corrupt(
      section: "trailer", offset: trailerStart + 4, expected: "end magic PKZ!", found: "other bytes")
  }
  let found = CRC32.checksum(bytes[0..<trailerStart])
  guard found == fileCRC else {
    throw CompressionError.checksumMismatch(
      section: "file", offset: 0, length: trailerStart, expected: fileCRC, found: found)
  }
  return ranges
}

/// One record of the layer table, with its codebook and streams decoded and checked.
func readLayer(
  _ t: inout ByteReader, bytes: [UInt8], codebooks: Range<Int>, streams: Range<Int>, blobs: inout LayerBlobs
) throws -> QuantizedLayer {
  let name = try t.string()
  var at = t.fileOffset
  let kindCode = try t.u8()
  guard let kind = LayerKind(rawValue: kindCode) else {
    throw CompressionError.unknownCode(section: "layers", offset: at, kind: "layer kind", code: Int(kindCode))
  }
  at = t.fileOffset
  let schemeCode = try t.u8()
  guard let scheme = QuantizationScheme(rawValue: schemeCode) else {
    throw CompressionError.unknownCode(section: "layers", offset: at, kind: "scheme", code: Int(schemeCode))
  }
  at = t.fileOffset
  let bits = Int(try t.u8())
  let validBits = scheme == .kmeans ? (1...16).contains(bits) : bits == (scheme == .int8 ? 8 : 32)
  guard validBits else {
    throw CompressionError.corrupt(
      section: "layers", offset: at, expected: "bits for \(scheme)", found: "\(bits)")
  }
  let rank = try t.count("rank", limit: 16)
  let shape = try (0..<rank).map { _ in try t.count("dimension", limit: 1 << 40) }
  let elements = shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
  at = t.fileOffset
  let maskCode = try t.u8()
  let maskDType = maskCode == 0 ? nil : try PKZFormat.dtype(code: maskCode, t, at: at)
  let entries = try t.count("entry count of '\(name)'", limit: elements)
  func range(in section: Range<Int>, _ what: String) throws -> Range<Int> {
    let offset = try t.count("\(what) offset", limit: section.count)
    let length = try t.count("\(what) length", limit: section.count - offset)
    return (section.lowerBound + offset)..<(section.lowerBound + offset + length)
  }
  let codebookRange = try range(in: codebooks, "codebook")
  let indexRange = try range(in: streams, "index stream")
  let valueRange = try range(in: streams, "value stream")
  blobs = LayerBlobs(codebook: codebookRange, index: indexRange, values: valueRange)
  if indexRange.count >= 2, bytes[indexRange.lowerBound] == IndexCoding.relativeGaps.rawValue {
    blobs.gapBits = Int(bytes[indexRange.lowerBound + 1])
  }

  var c = ByteReader(bytes: bytes, range: codebookRange, section: "codebooks")
  var codebook = [Float]()
  var zeroPoints = [Int8]()
  switch scheme {
  case .kmeans:
    codebook = try c.floats(try c.count("codebook size", limit: 1 << bits))
  case .int8:
    let channels = try c.count("channel count", limit: c.remaining)
    guard channels == max(shape.first ?? 1, 1) else {
      throw c.corrupt(expected: "\(max(shape.first ?? 1, 1)) channels for '\(name)'", found: "\(channels)")
    }
    codebook = try c.floats(channels)
    zeroPoints = try c.raw(channels).map { Int8(bitPattern: $0) }
  case .float32:
    break
  }
  guard c.isAtEnd else {
    throw c.corrupt(expected: "end of the codebook of '\(name)'", found: "\(c.remaining) bytes")
  }

  var i = ByteReader(bytes: bytes, range: indexRange, section: "streams")
  let positions = try SparseIndexBlob.decode(&i, shape: shape, entries: entries)
  guard i.isAtEnd else {
    throw i.corrupt(expected: "end of the index stream of '\(name)'", found: "\(i.remaining) bytes")
  }
  var v = ByteReader(bytes: bytes, range: valueRange, section: "streams")
  let alphabet = scheme == .kmeans ? max(codebook.count, 1) : 1 << bits
  let symbols = try SymbolStream.decode(&v, alphabetLimit: alphabet, maxCount: entries)
  guard v.isAtEnd, symbols.count == entries else {
    throw v.corrupt(
      expected: "\(entries) values for '\(name)'", found: "\(symbols.count) (\(v.remaining) bytes left)")
  }
  return QuantizedLayer(
    name: name, shape: shape, kind: kind, positions: positions, maskDType: maskDType, scheme: scheme,
    bits: bits,
    codebook: codebook, zeroPoints: zeroPoints, symbols: symbols)
}

/// Reads a `.pkz` file.
public func readPKZ(path: String) throws -> CompressedModel {
  try readPKZWithReport(path: path).model
}

/// Reads a `.pkz` file and where its bytes went (`inspect` prints it).
public func readPKZWithReport(path: String) throws -> (model: CompressedModel, report: PKZReport) {
  do {
    try InputPath.check(path)
  } catch {
    throw CompressionError.io(path: path, reason: error.description.replacingOccurrences(of: "\(path): ", with: ""))
  }
  guard let data = FileManager.default.contents(atPath: path) else {
    throw CompressionError.io(path: path, reason: "not readable (permission, or a folder)")
  }
  do {
    return try decodePKZWithReport([UInt8](data))
  } catch let error as CompressionError {
    throw CompressionError.inFile(path: path, error)
  } catch let error as ModelGraphError {
    throw CompressionError.inFile(
      path: path, .corrupt(section: "graph", offset: 0, expected: "a valid graph", found: "\(error)"))
  }
}

extension Graph {
  /// The graph stored in a `.pkz` file, with its quantized weights and masks restored.
  public init(pkz path: String) throws { self = try readPKZ(path: path).graph }
}
