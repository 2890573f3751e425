import Foundation
import Testing

@testable import Training

/// The repository's MNIST copy (Data/mnist), found from this file's path.
let repositoryMNIST = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  .appendingPathComponent("../../Data/mnist").standardized.path

func temporaryDirectory() throws -> String {
  let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
    "prunekit-training-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
  return dir.path
}

/// An IDX file: header (magic 0000 type rank, big-endian dims) + payload.
func idxBytes(type: UInt8, shape: [Int], payload: [UInt8]) -> [UInt8] {
  var bytes: [UInt8] = [0, 0, type, UInt8(shape.count)]
  for d in shape {
    bytes += [UInt8(d >> 24 & 255), UInt8(d >> 16 & 255), UInt8(d >> 8 & 255), UInt8(d & 255)]
  }
  return bytes + payload
}

@Suite struct DataTests {
  @Test func mnistTestSplitFromRepositoryCopy() throws {
    let test = try MNIST.load(directory: repositoryMNIST, split: .test)
    #expect(test.count == 10_000 && test.height == 28 && test.width == 28 && test.channels == 1)
    #expect(Array(test.labels.prefix(5)) == [7, 2, 1, 0, 4])
    #expect(abs(test.images.min()! - (-0.1307 / 0.3081)) < 1e-5)
    #expect(abs(test.images.max()! - ((1 - 0.1307) / 0.3081)) < 1e-5)
    #expect(Dictionary(grouping: test.labels, by: { $0 }).count == 10)
  }

  @Test func plainFilesAndTheOtherNamingConvention() throws {
    let gz = try MNIST.load(directory: repositoryMNIST, split: .test, limit: 100)
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let raw = try FileBytes.read(repositoryMNIST + "/t10k-images.idx3-ubyte.gz")
    let images = idxBytes(type: 8, shape: [100, 28, 28], payload: Array(raw[16..<(16 + 100 * 784)]))
    let labels = idxBytes(type: 8, shape: [100], payload: gz.labels.map { UInt8($0) })
    try Data(images).write(to: URL(fileURLWithPath: dir + "/t10k-images-idx3-ubyte"))
    try Data(labels).write(to: URL(fileURLWithPath: dir + "/t10k-labels-idx1-ubyte"))
    let plain = try MNIST.load(directory: dir, split: .test)
    #expect(plain.images == gz.images && plain.labels == gz.labels)
  }

  @Test func errorsNameFileOffsetAndMagic() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    // Labels where images belong: the magic is reported.
    let labels = idxBytes(type: 8, shape: [3], payload: [1, 2, 3])
    try Data(labels).write(to: URL(fileURLWithPath: dir + "/t10k-images-idx3-ubyte"))
    try Data(labels).write(to: URL(fileURLWithPath: dir + "/t10k-labels-idx1-ubyte"))
    #expect(
      throws: TrainingError.malformed(
        file: dir + "/t10k-images-idx3-ubyte", offset: 3, expected: "magic 0x00000803 (uint8, rank 3)",
        found: "0x00000801 (rank 1)")
    ) { try MNIST.load(directory: dir, split: .test) }
    // Short payload.
    #expect(
      throws: TrainingError.malformed(
        file: "x", offset: 8, expected: "4 bytes of data for shape [4]", found: "3 bytes")
    ) { try IDXArray.parse(idxBytes(type: 8, shape: [4], payload: [1, 2, 3]), file: "x") }
    // Missing training files: the error names what was tried.
    do {
      _ = try MNIST.load(directory: dir, split: .train)
      Issue.record("expected fileNotFound")
    } catch let error as TrainingError {
      #expect(error.description.contains("train-images-idx3-ubyte") && error.description.contains(".gz"))
    }
    // Truncated gzip: zlib's error with the path.
    let gz = try FileBytes.read(repositoryMNIST + "/t10k-labels.idx1-ubyte.gz")
    #expect(gz.count == 10_008)
    let compressed = try Data(
      contentsOf: URL(fileURLWithPath: repositoryMNIST + "/t10k-labels.idx1-ubyte.gz"))
    try compressed.prefix(compressed.count / 2).write(to: URL(fileURLWithPath: dir + "/cut.gz"))
    #expect(throws: TrainingError.self) { try FileBytes.read(dir + "/cut.gz") }
  }

  @Test func csvQuotingAndErrors() throws {
    let text = "id,text,score\r\n1,\"hello, world\",0.5\n2,\"say \"\"hi\"\"\nthere\",1\n3,plain,\n"
    let table = try CSVTable.parse(Array(text.utf8), file: "t.csv")
    #expect(table.header == ["id", "text", "score"])
    #expect(
      table.rows == [["1", "hello, world", "0.5"], ["2", "say \"hi\"\nthere", "1"], ["3", "plain", ""]])
    #expect(try table.column("text")[0] == "hello, world")
    #expect(throws: TrainingError.self) { try table.column("missing") }
    #expect(
      throws: TrainingError.malformed(
        file: "r.csv", offset: 4, expected: "2 fields (as in the header)", found: "3 fields")
    ) {
      try CSVTable.parse(Array("a,b\n1,2,3\n".utf8), file: "r.csv")
    }
    #expect(
      throws: TrainingError.malformed(
        file: "q.csv", offset: 6, expected: "a closing quote for the field opened here", found: "end of file")
    ) { try CSVTable.parse(Array("a,b\n1,\"2\n".utf8), file: "q.csv") }
  }

  @Test func seededShuffleIsAReproduciblePermutation() {
    var a = Array(0..<1000), b = a, c = a
    seededShuffle(&a, seed: 5)
    seededShuffle(&b, seed: 5)
    seededShuffle(&c, seed: 6)
    #expect(a == b && a != c && a != Array(0..<1000))
    #expect(a.sorted() == Array(0..<1000))
  }

  @Test func batchesCoverEveryExampleOnce() throws {
    let data = try MNIST.load(directory: repositoryMNIST, split: .test, limit: 130)
    let batches = data.batches(size: 32, shuffleSeed: 1)
    #expect(batches.map(\.count) == [32, 32, 32, 32, 2])
    #expect(batches.flatMap { $0 }.sorted() == Array(0..<130))
    #expect(data.batches(size: 32, shuffleSeed: 1, dropLast: true).count == 4)
    let batch = data.batch(batches[0])
    #expect(batch.inputs.shape == [32, 1, 28, 28])
    #expect(batch.labels == batches[0].map { data.labels[$0] })
    #expect(
      Array(batch.inputs.floats[0..<784])
        == Array(data.images[(batches[0][0] * 784)..<(batches[0][0] * 784 + 784)]))
  }
}
