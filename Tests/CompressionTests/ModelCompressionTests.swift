import Foundation
import ModelGraph
import Runtime
import TensorCore
import Testing

@testable import Compression

/// Largest |a − b| / max|b| allowed between int8-quantized and dense outputs of a fixture.
let int8OutputTolerance: Float = 0.05

@Suite struct ModelCompressionTests {
  let fixtures = "../shared/fixtures/onnx"

  func temporaryDirectory() throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pkz-e2e-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
  }

  @Test(arguments: ["mlp", "lenet5", "resblock"])
  func onnxToPkzToOnnxKeepsTheQuantizedWeightsBitForBit(fixture: String) throws {
    let input = "\(fixtures)/\(fixture).onnx"
    try #require(FileManager.default.fileExists(atPath: input))
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let pkz = dir.appendingPathComponent("m.pkz").path
    let onnx = dir.appendingPathComponent("back.onnx").path
    let (model, report) = try compressModel(at: input, to: pkz, options: CompressionOptions())
    #expect(report.totalBytes == (try FileManager.default.attributesOfItem(atPath: pkz)[.size] as! Int))
    try decompressModel(at: pkz, to: onnx)
    let back = try ModelFile.load(onnx)
    for (name, tensor) in model.graph.orderedInitializers {
      #expect(back.initializers[name]?.rawBytes == tensor.rawBytes, "\(name)")
    }
    // The executor runs the decoded graph and gives the quantized graph's outputs exactly.
    let io = try ioTensors(fixture)
    let fromPkz = try Executor(graph: try Graph(pkz: pkz)).run([io.name: io.input])
    let fromModel = try Executor(graph: model.graph).run([io.name: io.input])
    #expect(fromPkz == fromModel)
  }

  @Test func int8OutputsStayCloseToTheDenseModel() throws {
    let graph = try ModelFile.load("\(fixtures)/lenet5.onnx")
    let model = quantize(graph, options: CompressionOptions(scheme: .int8))
    let io = try ioTensors("lenet5")
    let dense = try Executor(graph: graph).run([io.name: io.input]).values.first!.floats
    let quantized = try Executor(graph: model.graph).run([io.name: io.input]).values.first!.floats
    let scale = dense.map(abs).max()!
    let worst = zip(dense, quantized).map { abs($0 - $1) }.max()!
    #expect(worst / scale < int8OutputTolerance)
  }

  /// A seeded input for the fixture's only graph input (shape from the model, symbolic dims = 2).
  func ioTensors(_ fixture: String) throws -> (input: Tensor, name: String) {
    let graph = try ModelFile.load("\(fixtures)/\(fixture).onnx")
    let info = try #require(graph.inputs.first { graph.initializers[$0.name] == nil })
    let shape = (info.shape ?? []).map { $0.value ?? 2 }
    return (Tensor.normal(shape, seed: 5), info.name)
  }
}
