import Compression
import Foundation
import ModelGraph
import TensorCore

/// Small seeds written with PruneKit's own writers (the real files from ../shared and the
/// repository are added by scripts/fuzz.sh): a few hundred bytes each, so that libFuzzer's
/// mutations land on structure rather than on megabytes of weights.
enum FuzzSeeds {
  static func write(to folder: String) throws {
    let graphs = [matMulRelu(), convNet(), shapeSubgraph(), attention()]
    for (i, graph) in graphs.enumerated() {
      try save(ONNXExporter.serialized(graph), folder, "onnx", "synthetic-\(i).onnx")
      for (j, options) in [CompressionOptions(), CompressionOptions(scheme: .int8, minimumElements: 4)].enumerated() {
        var small = options
        small.minimumElements = 4
        let bytes = encodePKZ(quantize(graph, options: small), options: small).bytes
        try save(Data(bytes), folder, "pkz", "synthetic-\(i)-\(j).pkz")
        try save(Data(bytes), folder, "pkz-crc", "synthetic-\(i)-\(j).pkz")
      }
    }
    let tensors: [String: Tensor] = [
      "w": Tensor(shape: [2, 3], floats: [1, 2, 3, 4, 5, 6]), "ids": Tensor(shape: [3], int64s: [1, 2, 3]),
      "h": Tensor(shape: [2], floats: [0.5, -1]).converted(to: .float16), "s": Tensor.scalar(7),
    ]
    try save(
      Data(SafeTensorsWriter.serialize(tensors: tensors, metadata: ["format": "pt"])), folder, "safetensors",
      "synthetic.safetensors")
  }

  static func save(_ data: Data, _ folder: String, _ target: String, _ name: String) throws {
    let dir = "\(folder)/\(target)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try data.write(to: URL(fileURLWithPath: "\(dir)/\(name)"))
  }

  static func ramp(_ shape: [Int]) -> Tensor {
    Tensor(shape: shape, floats: (0..<shape.reduce(1, *)).map { Float($0 % 7) * 0.25 - 0.5 })
  }

  static func input(_ name: String, _ dims: [Dim]) -> ValueInfo { ValueInfo(name: name, dtype: .float32, shape: dims) }
  static func output(_ name: String) -> ValueInfo { ValueInfo(name: name, dtype: .float32, shape: nil) }

  /// y = Relu(x · W + b), x [batch, 4].
  static func matMulRelu() -> Graph {
    Graph(
      name: "matmul", nodes: [
        Node(name: "mm", opType: "MatMul", inputs: ["x", "W"], outputs: ["h"]),
        Node(name: "add", opType: "Add", inputs: ["h", "b"], outputs: ["a"]),
        Node(name: "relu", opType: "Relu", inputs: ["a"], outputs: ["y"]),
      ], initializers: ["W": ramp([4, 3]), "b": ramp([3])], inputs: [input("x", [.symbolic("batch"), .fixed(4)])],
      outputs: [output("y")])
  }

  /// Conv → BatchNorm → Relu → MaxPool → Flatten → Gemm (LeNet in miniature), x [1, 1, 6, 6].
  static func convNet() -> Graph {
    Graph(
      name: "conv", nodes: [
        Node(name: "conv", opType: "Conv", inputs: ["x", "Wc", "bc"], outputs: ["c"],
          attributes: ["kernel_shape": .ints([3, 3]), "pads": .ints([1, 1, 1, 1])]),
        Node(name: "bn", opType: "BatchNormalization", inputs: ["c", "g", "beta", "mean", "var"], outputs: ["n"],
          attributes: ["epsilon": .float(1e-5)]),
        Node(name: "relu", opType: "Relu", inputs: ["n"], outputs: ["r"]),
        Node(name: "pool", opType: "MaxPool", inputs: ["r"], outputs: ["p"],
          attributes: ["kernel_shape": .ints([2, 2]), "strides": .ints([2, 2])]),
        Node(name: "flat", opType: "Flatten", inputs: ["p"], outputs: ["f"], attributes: ["axis": .int(1)]),
        Node(name: "fc", opType: "Gemm", inputs: ["f", "Wf", "bf"], outputs: ["y"], attributes: ["transB": .int(1)]),
      ],
      initializers: [
        "Wc": ramp([2, 1, 3, 3]), "bc": ramp([2]), "g": ramp([2]), "beta": ramp([2]), "mean": ramp([2]),
        "var": Tensor(shape: [2], floats: [1, 2]), "Wf": ramp([3, 18]), "bf": ramp([3]),
      ], inputs: [input("x", [.symbolic("batch"), .fixed(1), .fixed(6), .fixed(6)])], outputs: [output("y")])
  }

  /// Reshape to [batch, -1] through Shape → Gather → Unsqueeze → Concat, then Softmax and Transpose.
  static func shapeSubgraph() -> Graph {
    Graph(
      name: "shape", nodes: [
        Node(name: "shape", opType: "Shape", inputs: ["x"], outputs: ["s"]),
        Node(name: "gather", opType: "Gather", inputs: ["s", "zero"], outputs: ["n"], attributes: ["axis": .int(0)]),
        Node(name: "unsq", opType: "Unsqueeze", inputs: ["n", "axes"], outputs: ["n1"]),
        Node(name: "concat", opType: "Concat", inputs: ["n1", "minus1"], outputs: ["target"], attributes: ["axis": .int(0)]),
        Node(name: "reshape", opType: "Reshape", inputs: ["x", "target"], outputs: ["r"]),
        Node(name: "softmax", opType: "Softmax", inputs: ["r"], outputs: ["sm"], attributes: ["axis": .int(-1)]),
        Node(name: "transpose", opType: "Transpose", inputs: ["sm"], outputs: ["y"], attributes: ["perm": .ints([1, 0])]),
      ],
      initializers: [
        "zero": Tensor(shape: [], int64s: [0]), "axes": Tensor(shape: [1], int64s: [0]),
        "minus1": Tensor(shape: [1], int64s: [-1]),
      ], inputs: [input("x", [.symbolic("batch"), .fixed(2), .fixed(3)])], outputs: [output("y")])
  }

  /// Scaled dot-product attention of one head: softmax(q kᵀ / √d) v, q = k = v = x [batch, seq, 4].
  static func attention() -> Graph {
    Graph(
      name: "attention", nodes: [
        Node(name: "q", opType: "MatMul", inputs: ["x", "Wq"], outputs: ["q"]),
        Node(name: "kt", opType: "Transpose", inputs: ["q"], outputs: ["kt"], attributes: ["perm": .ints([0, 2, 1])]),
        Node(name: "scores", opType: "MatMul", inputs: ["q", "kt"], outputs: ["s"]),
        Node(name: "scale", opType: "Div", inputs: ["s", "sqrtd"], outputs: ["ss"]),
        Node(name: "softmax", opType: "Softmax", inputs: ["ss"], outputs: ["p"], attributes: ["axis": .int(-1)]),
        Node(name: "context", opType: "MatMul", inputs: ["p", "x"], outputs: ["c"]),
        Node(name: "norm", opType: "LayerNormalization", inputs: ["c", "gamma", "beta"], outputs: ["y"],
          attributes: ["axis": .int(-1), "epsilon": .float(1e-5)]),
      ],
      initializers: ["Wq": ramp([4, 4]), "sqrtd": Tensor.scalar(2), "gamma": ramp([4]), "beta": ramp([4])],
      inputs: [input("x", [.symbolic("batch"), .symbolic("sequence"), .fixed(4)])], outputs: [output("y")])
  }
}
