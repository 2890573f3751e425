import ModelGraph
import Testing

@testable import Runtime
@testable import TensorCore

/// float16 models (as onnxconverter-common writes them) run computing in Float32 (found by the zoo
/// sweep: every fp16 model failed with "expected dtype float32, found float16").
@Suite struct Float32ComputeTests {
  /// x [2, 4] → MatMul(W [4, 3]) → Add(b [3]) → Relu → y, every float in `dtype`; with `castIO` the
  /// graph takes and returns Float32 and casts at its edges (keep_io_types = True).
  func graph(_ dtype: DType, castIO: Bool) -> Graph {
    var g = Graph()
    let ioType: DType = castIO ? .float32 : dtype
    g.inputs = [ValueInfo(name: "x", dtype: ioType, shape: [.symbolic("N"), .fixed(4)])]
    g.setInitializer("w", Tensor.normal([4, 3], seed: 1).converted(to: dtype))
    g.setInitializer("b", Tensor.normal([3], seed: 2).converted(to: dtype))
    var x = "x"
    if castIO {
      g.nodes.append(
        Node(name: "in", opType: "Cast", inputs: ["x"], outputs: ["xh"], attributes: ["to": .int(10)]))
      x = "xh"
    }
    g.nodes += [
      Node(name: "mm", opType: "MatMul", inputs: [x, "w"], outputs: ["h"]),
      Node(name: "add", opType: "Add", inputs: ["h", "b"], outputs: ["hb"]),
      Node(name: "relu", opType: "Relu", inputs: ["hb"], outputs: ["r"]),
    ]
    var y = "r"
    if castIO {
      g.nodes.append(
        Node(name: "out", opType: "Cast", inputs: ["r"], outputs: ["y"], attributes: ["to": .int(1)]))
      y = "y"
    }
    g.outputs = [ValueInfo(name: y, dtype: ioType, shape: [.symbolic("N"), .fixed(3)])]
    return g
  }

  @Test(arguments: [false, true])
  func halfModelRunsAsTheFloat32GraphOfItsValues(castIO: Bool) throws {
    let half = graph(.float16, castIO: castIO)
    // The reference: the Float32 graph holding the float16-rounded weights.
    var reference = graph(.float32, castIO: false)
    for name in ["w", "b"] { reference.initializers[name] = half.initializers[name]!.converted(to: .float32) }
    let x = Tensor.normal([2, 4], seed: 3)
    let xh = x.converted(to: .float16).converted(to: .float32)
    let want = try #require(try Executor(graph: reference).run(["x": xh])["r"])
    let fed = castIO ? x : x.converted(to: .float16)
    let got = try #require(try Executor(graph: half).run(["x": fed])[half.outputs[0].name])
    #expect(got.dtype == (castIO ? .float32 : .float16))
    #expect(got.shape == [2, 3])
    // One rounding of the same Float32 values: float16 outputs are exactly want rounded to float16.
    let expected = castIO ? want : want.converted(to: .float16)
    #expect(got.asFloats() == expected.asFloats())
  }

  /// Shape inference runs ops without a shape rule (ConvTranspose) on float16 stand-ins in Float32,
  /// and still reports the stored type.
  @Test func shapesOfAHalfModelKeepTheStoredType() throws {
    var g = Graph()
    g.inputs = [ValueInfo(name: "x", dtype: .float16, shape: [.fixed(1), .fixed(2), .fixed(3), .fixed(3)])]
    g.setInitializer("w", Tensor.normal([2, 3, 2, 2], seed: 4).converted(to: .float16))
    g.nodes = [
      Node(
        name: "up", opType: "ConvTranspose", inputs: ["x", "w"], outputs: ["y"],
        attributes: ["strides": .ints([2, 2])])
    ]
    g.outputs = [ValueInfo(name: "y", dtype: .float16, shape: nil)]
    let y = try #require(try g.inferShapes()["y"])
    #expect(y.concrete == [1, 3, 6, 6])
    #expect(y.dtype == .float16)
    #expect(try g.costs().totals.macs > 0)
  }
}
