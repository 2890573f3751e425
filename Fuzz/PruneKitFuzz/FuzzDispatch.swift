// The parsers PruneKit's fuzzing exercises (issue 15), one case per target. Shared by the libFuzzer
// entry point (FuzzMain.swift, built by scripts/fuzz.sh) and the regression tests that replay every
// crash reproducer (Tests/FuzzRegressionTests, where this file is a symbolic link). A parser may
// throw on any input; it must never trap, hang, leak or read out of bounds.
import Foundation
import Runtime
import TensorCore

@testable import Compression
@testable import ModelGraph
@testable import Training

enum FuzzTarget: String, CaseIterable {
  case onnx, safetensors, pkz, pkzFixedCRC = "pkz-crc", idx, csv, vocab, config, tokenizerJSON = "tokenizer-json"
}

/// A scratch folder for parsers that read files (tokenizer.json), in /dev/shm when present.
let scratch: String = {
  let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
  let path = "\(base)/prunekit-fuzz-\(getpid())"
  try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  return path
}()

/// Runs `bytes` through the parser of `target` (and what every command does after it), ignoring errors.
func fuzzOne(_ target: FuzzTarget, _ bytes: [UInt8]) {
  switch target {
  case .onnx:
    // What every command does on load: decode, validate, infer shapes (running small constant subgraphs).
    if let graph = try? ONNXImporter.decode(Data(bytes), file: "fuzz.onnx") {
      try? graph.checkShapes()
    }
  case .safetensors:
    bytes.withUnsafeBytes { buffer in
      _ = try? SafeTensorsHeader.parse(file: "fuzz.safetensors", fileSize: bytes.count, bytes: buffer)
    }
  case .pkz:
    if let model = try? decodePKZ(bytes) { try? model.graph.checkShapes() }
  case .pkzFixedCRC:
    // The checksums stop almost every mutation at the framing; repairing them reaches the decoders.
    if let model = try? decodePKZ(repairingChecksums(bytes)) { try? model.graph.checkShapes() }
  case .idx:
    if let array = try? IDXArray.parse(bytes, file: "fuzz.idx") {
      if array.payload.count <= 1 << 20 {
        _ = array.floats()
        _ = array.ints()
      }
    }
  case .csv:
    if let table = try? CSVTable.parse(bytes, file: "fuzz.csv"), let first = table.header.first {
      _ = try? table.column(first)
    }
  case .vocab:
    if let vocabulary = try? WordPieceTokenizer.parseVocabulary(bytes, file: "vocab.txt"),
      let tokenizer = try? WordPieceTokenizer(vocabulary: vocabulary, maxLength: 32)
    {
      _ = tokenizer.encode(["Hello, world! naïve café 東京 [SEP] unaffable", ""], pairs: ["a b", "##"])
    }
  case .config:
    if let json = try? JSONTree.parse(bytes) { _ = try? BertConfig(json: json, file: "config.json") }
  case .tokenizerJSON:
    let path = scratch + "/tokenizer.json"
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
    if let tokenizer = try? WordPieceTokenizer(folder: scratch) {
      _ = tokenizer.encode(["Hello, world! naïve café 東京 [SEP] unaffable"], maxLength: 16)
    }
  }
}

/// `bytes` with the .pkz header CRC, every in-bounds section CRC and the file CRC recomputed
/// (PKZFormat layout), so that mutations inside sections reach the section decoders.
func repairingChecksums(_ input: [UInt8]) -> [UInt8] {
  var bytes = input
  let fixed = PKZFormat.fixedHeaderBytes, entry = PKZFormat.sectionEntryBytes
  guard bytes.count >= fixed + 4 + PKZFormat.trailerBytes else { return bytes }
  func u16(_ o: Int) -> Int { Int(bytes[o]) | Int(bytes[o + 1]) << 8 }
  func u64(_ o: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[o + $1]) << (8 * UInt64($1)) } }
  func put32(_ v: UInt32, at o: Int) { for i in 0..<4 { bytes[o + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) } }
  let count = u16(10)
  let headerLength = fixed + entry * count + 4
  let trailerStart = bytes.count - PKZFormat.trailerBytes
  guard headerLength <= trailerStart else { return bytes }
  for i in 0..<count {
    let at = fixed + entry * i
    let (offset, length) = (u64(at + 8), u64(at + 16))
    guard offset <= UInt64(trailerStart), length <= UInt64(trailerStart) - offset else { continue }
    put32(CRC32.checksum(bytes[Int(offset)..<Int(offset + length)]), at: at + 4)
  }
  put32(CRC32.checksum(bytes[0..<(headerLength - 4)]), at: headerLength - 4)
  put32(CRC32.checksum(bytes[0..<trailerStart]), at: trailerStart)
  return bytes
}
