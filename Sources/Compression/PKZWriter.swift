import Foundation
import ModelGraph
import TensorCore

/// Serialises a compressed model into `.pkz` bytes (layout in `PKZFormat`).
public func encodePKZ(
  _ model: CompressedModel, options: CompressionOptions = CompressionOptions()
) -> (bytes: [UInt8], report: PKZReport) {
  var table = ByteWriter()
  var codebooks = ByteWriter()
  var streams = ByteWriter()
  var reports = [PKZLayerReport]()
  table.varint(model.layers.count)
  for layer in model.layers {
    let recordStart = table.count
    let gapBits = options.indexBits[layer.kind] ?? 5
    let codebook = encodeCodebook(layer)
    let index = SparseIndexBlob.encode(
      positions: layer.positions, shape: layer.shape, gapBits: gapBits, entropyCoding: options.entropyCoding)
    let values = SymbolStream.encode(layer.symbols, width: layer.bits, entropyCoding: options.entropyCoding)
    table.string(layer.name)
    table.u8(layer.kind.rawValue)
    table.u8(layer.scheme.rawValue)
    table.u8(UInt8(layer.bits))
    table.varint(layer.shape.count)
    for d in layer.shape { table.varint(d) }
    table.u8(layer.maskDType.map(PKZFormat.code(of:)) ?? 0)
    table.varint(layer.positions.count)
    for (range, blob) in [
      (codebooks.count, codebook), (streams.count, index), (streams.count + index.count, values),
    ] {
      table.varint(range)
      table.varint(blob.count)
    }
    codebooks.raw(codebook)
    streams.raw(index)
    streams.raw(values)
    reports.append(
      PKZLayerReport(
        name: layer.name, shape: layer.shape, kind: layer.kind, scheme: layer.scheme, bits: layer.bits,
        entries: layer.positions.count, elements: layer.count,
        indexCoding: SparseIndexBlob.coding(of: index)!,
        indexBits: SparseIndexBlob.coding(of: index) == .relativeGaps ? gapBits : 0,
        valueCoding: SymbolStream.coding(of: values)!, codebookBytes: codebook.count, indexBytes: index.count,
        valueBytes: values.count, tableBytes: table.count - recordStart))
  }
  let graphBytes = GraphCodec.encode(model.graph, compressed: Set(model.layers.map(\.name)))
  let sections: [(PKZFormat.Section, [UInt8])] = [
    (.graph, graphBytes), (.layers, table.bytes), (.codebooks, codebooks.bytes), (.streams, streams.bytes),
  ]
  let bytes = assemblePKZ(sections)
  let dense = model.graph.orderedInitializers.reduce(0) { $0 + $1.tensor.count * 4 }
  let framing = bytes.count - sections.reduce(0) { $0 + $1.1.count }
  let report = PKZReport(
    layers: reports, framingBytes: framing + (table.count - reports.reduce(0) { $0 + $1.tableBytes }),
    graphBytes: graphBytes.count, totalBytes: bytes.count, denseParameterBytes: dense)
  return (bytes, report)
}

/// kmeans: count varint, centroids f32 · count; int8: channels varint, scales f32 · channels, zero
/// points i8 · channels; float32: empty.
func encodeCodebook(_ layer: QuantizedLayer) -> [UInt8] {
  var w = ByteWriter()
  switch layer.scheme {
  case .kmeans:
    w.varint(layer.codebook.count)
    w.floats(layer.codebook)
  case .int8:
    w.varint(layer.codebook.count)
    w.floats(layer.codebook)
    w.raw(layer.zeroPoints.map { UInt8(bitPattern: $0) })
  case .float32:
    break
  }
  return w.bytes
}

/// Header, section table with CRCs, header CRC, sections, whole-file CRC and end magic.
func assemblePKZ(_ sections: [(PKZFormat.Section, [UInt8])]) -> [UInt8] {
  let headerLength = PKZFormat.fixedHeaderBytes + PKZFormat.sectionEntryBytes * sections.count + 4
  var w = ByteWriter()
  w.raw(PKZFormat.magic)
  w.u16(UInt16(PKZFormat.version))
  w.u16(UInt16(sections.count))
  w.u32(UInt32(headerLength))
  var offset = headerLength
  for (kind, bytes) in sections {
    w.u16(kind.rawValue)
    w.u16(0)
    w.u32(CRC32.checksum(bytes))
    w.u64(UInt64(offset))
    w.u64(UInt64(bytes.count))
    offset += bytes.count
  }
  w.u32(CRC32.checksum(w.bytes))
  for (_, bytes) in sections { w.raw(bytes) }
  w.u32(CRC32.checksum(w.bytes))
  w.raw(PKZFormat.endMagic)
  return w.bytes
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, then rename(2), so a
/// failed write leaves any earlier file as it was.
public func writeAtomically(_ bytes: [UInt8], to path: String) throws {
  do {
    try AtomicFile.write(Data(bytes), to: path)
  } catch ModelGraphError.unreadable(_, let reason) {
    throw CompressionError.io(path: path, reason: reason)
  }
}

/// Encodes `model` and writes it atomically to `path`; the report's `totalBytes` is the file's size.
@discardableResult
public func writePKZ(
  _ model: CompressedModel, to path: String, options: CompressionOptions = CompressionOptions()
) throws -> PKZReport {
  let (bytes, report) = encodePKZ(model, options: options)
  try writeAtomically(bytes, to: path)
  return report
}
