import Foundation
import TensorCore
import Testing

@testable import ModelGraph

@Suite struct ModelFileTests {
  @Test func loadsAndSavesByExtension() throws {
    let graph = try ModelFile.load(ONNXTestSupport.path("../shared/fixtures/onnx/lenet5.onnx"))
    #expect(graph.nodes.count == 10)
    let folder = try ONNXTestSupport.temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try ModelFile.save(graph, to: folder + "/copy.ONNX")
    let again = try ModelFile.load(folder + "/copy.ONNX")
    #expect(ONNXTestSupport.normalised(again) == ONNXTestSupport.normalised(graph))
  }

  @Test func missingFileAndUnknownExtension() throws {
    #expect(throws: ModelGraphError.fileNotFound(path: "/no/such/model.onnx")) {
      try ModelFile.load("/no/such/model.onnx")
    }
    let folder = try ONNXTestSupport.temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    do {
      try ModelFile.save(Graph(), to: folder + "/model.xyz")
      Issue.record("saved an unknown format")
    } catch {
      #expect("\(error)".contains(".xyz") && "\(error)".contains(".onnx"))
    }
  }

  @Test func failedSaveLeavesTheOldFile() throws {
    let folder = try ONNXTestSupport.temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let path = folder + "/m.onnx"
    try Data("old".utf8).write(to: URL(fileURLWithPath: path))
    let invalid = Graph(nodes: [Node(name: "r", opType: "Relu", inputs: ["missing"], outputs: ["y"])])
    #expect(throws: ModelGraphError.self) { try ModelFile.save(invalid, to: path) }
    #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data("old".utf8))
  }

  /// Writing into a folder that does not exist is an `unwritable` error naming the path, for ONNX and
  /// safetensors alike, and leaves no file behind.
  @Test(arguments: ["model.onnx", "model.safetensors"])
  func saveIntoAMissingFolderIsUnwritable(name: String) throws {
    let folder = try ONNXTestSupport.temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let path = folder + "/missing/" + name
    let graph = try ModelFile.load(ONNXTestSupport.path("../shared/fixtures/onnx/lenet5.onnx"))
    do {
      try ModelFile.save(graph, to: path)
      Issue.record("saved into a missing folder")
    } catch let error as ModelGraphError {
      guard case .unwritable(let where_, _) = error else {
        Issue.record("expected .unwritable, got \(error)")
        return
      }
      #expect(where_ == path)
      #expect("\(error)".contains("cannot write"))
    }
    #expect(!FileManager.default.fileExists(atPath: folder + "/missing"))
  }
}
