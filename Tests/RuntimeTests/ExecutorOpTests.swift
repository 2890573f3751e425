import Foundation
import ModelGraph
import TensorCore
import Testing

@testable import Runtime

/// Every op against onnxruntime on one-node graphs (Tests/Data/executor_op_cases.json, made by
/// scripts/make_executor_op_cases.py), including the opset differences of Squeeze/Unsqueeze,
/// ReduceMean/ReduceSum/ReduceMax axes, Split, Slice, Clip, Pad and Softmax.
@Suite struct ExecutorOpTests {
  /// Max abs difference allowed against onnxruntime for float outputs (scaled by 1 + |expected|).
  static let tolerance: Float = 1e-4

  struct Case: CustomStringConvertible, Sendable {
    var name: String
    var graph: Graph
    var feeds: [String: Tensor]
    var expected: [String: Tensor]
    var description: String { name }
  }

  static let cases: [Case] = (try? loadCases()) ?? []

  static func loadCases() throws -> [Case] {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("../Data/executor_op_cases.json")
    let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    return try (json["cases"] as! [[String: Any]]).map { c in
      var attributes: [String: Attribute] = [:]
      for (name, spec) in c["attributes"] as! [String: [String: Any]] {
        let v = spec["value"]!
        switch spec["type"] as! String {
        case "int": attributes[name] = .int((v as! NSNumber).intValue)
        case "float": attributes[name] = .float((v as! NSNumber).floatValue)
        case "ints": attributes[name] = .ints((v as! [NSNumber]).map(\.intValue))
        case "floats": attributes[name] = .floats((v as! [NSNumber]).map(\.floatValue))
        case "string": attributes[name] = .string(v as! String)
        default: attributes[name] = .tensor(try tensor(v as! [String: Any]))
        }
      }
      let inputs = c["inputs"] as! [Any]
      var feeds: [String: Tensor] = [:]
      var names: [String] = []
      var infos: [ValueInfo] = []
      for item in inputs {
        guard let spec = item as? [String: Any] else {
          names.append("")
          continue
        }
        let t = try tensor(spec)
        let name = spec["name"] as! String
        names.append(name)
        feeds[name] = t
        infos.append(ValueInfo(name: name, dtype: t.dtype, shape: t.shape.map { .fixed($0) }))
      }
      var expected: [String: Tensor] = [:]
      for spec in c["outputs"] as! [[String: Any]] { expected[spec["name"] as! String] = try tensor(spec) }
      let outNames = expected.keys.sorted()
      let node = Node(
        name: c["name"] as! String, opType: c["op"] as! String, inputs: names, outputs: outNames,
        attributes: attributes)
      let graph = Graph(
        name: node.name, nodes: [node], inputs: infos,
        outputs: outNames.map { ValueInfo(name: $0, dtype: expected[$0]!.dtype, shape: nil) },
        opsetVersion: c["opset"] as! Int)
      return Case(name: node.name, graph: graph, feeds: feeds, expected: expected)
    }
  }

  static func tensor(_ spec: [String: Any]) throws -> Tensor {
    let shape = (spec["shape"] as! [NSNumber]).map(\.intValue)
    let data = spec["data"] as! [Any]
    switch spec["dtype"] as! String {
    case "float32": return Tensor(shape: shape, floats: data.map { ($0 as! NSNumber).floatValue })
    case "int64": return Tensor(shape: shape, int64s: data.map { ($0 as! NSNumber).int64Value })
    default: return Tensor(shape: shape, bools: data.map { ($0 as! NSNumber).boolValue })
    }
  }

  @Test func casesCoverEveryRequiredOp() throws {
    let ops = Set(Self.cases.map { $0.graph.nodes[0].opType })
    let required = [
      "Gemm", "MatMul", "Conv", "ConvTranspose", "BatchNormalization", "LayerNormalization", "Relu",
      "LeakyRelu", "Gelu", "Erf", "Tanh", "Sigmoid", "HardSigmoid", "HardSwish", "Clip", "MaxPool",
      "AveragePool", "GlobalAveragePool", "Flatten", "Reshape", "Transpose", "Concat", "Split", "Add", "Sub",
      "Mul", "Div", "Pow", "Sqrt", "Neg", "Exp", "Log", "Abs", "Reciprocal", "ReduceMean", "ReduceSum",
      "ReduceMax", "Softmax", "LogSoftmax", "Gather", "Unsqueeze", "Squeeze", "Shape", "Size", "Slice",
      "Cast", "Constant", "ConstantOfShape", "Where", "Equal", "Less", "Greater", "Not", "And", "Expand",
      "Range", "Pad", "Resize", "Identity", "Dropout", "Min", "Max", "Tile",
      // Found missing by the zoo sweep (scripts/check_zoo.py).
      "PRelu", "Mish", "Selu", "Celu", "Softsign", "ThresholdedRelu", "Mean", "LRN", "DepthToSpace",
      "SpaceToDepth", "Trilu", "ArgMax", "ArgMin", "TopK", "CumSum", "GatherElements", "Attention",
      "RMSNormalization", "Swish",
    ]
    #expect(Self.cases.count > 100)
    #expect(Set(required).subtracting(ops).isEmpty, "no golden case for \(Set(required).subtracting(ops))")
  }

  @Test(arguments: cases)
  func matchesOnnxRuntime(_ c: Case) throws {
    let executor = try Executor(graph: c.graph, foldConstants: false)
    let outputs = try executor.run(c.feeds)
    for (name, want) in c.expected {
      let got = try #require(outputs[name], "\(c.name): output \(name) missing")
      #expect(got.shape == want.shape, "\(c.name): shape")
      #expect(got.dtype == want.dtype, "\(c.name): dtype")
      guard got.shape == want.shape, got.dtype == want.dtype else { continue }
      if want.dtype == .float32 {
        let worst = zip(got.floats, want.floats).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? 0
        #expect(worst <= Self.tolerance, "\(c.name): max scaled error \(worst)")
      } else {
        #expect(got.rawBytes == want.rawBytes, "\(c.name): \(got.asInt64s()) vs \(want.asInt64s())")
      }
    }
  }
}
