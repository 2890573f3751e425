import ModelGraph
import TensorCore

/// Replacing a classifier's last layer for a new class count (transfer learning): the layer that
/// produces the logits gets freshly initialised weights of the new width; everything before it
/// keeps its (possibly pruned) weights.
public enum ClassifierHead {
  /// What `replace` changed.
  public struct Replacement: Sendable, Equatable, Codable {
    /// The node whose weights were replaced (a Gemm, MatMul, or 1×1 Conv).
    public var node: String
    public var opType: String
    /// The initializers replaced (weight, and bias when there is one).
    public var tensors: [String]
    public var oldClasses: Int
    public var newClasses: Int
  }

  /// Ops the search walks back through from the first output to the layer producing the logits:
  /// they keep the class axis (the 1×1-Conv head of SqueezeNet is followed by ReLU and pooling).
  static let passThrough: Set<String> = ["Identity", "Flatten", "Squeeze", "Dropout", "Relu", "GlobalAveragePool"]

  /// Replaces the layer producing the first output's logits with one of `classes` outputs,
  /// initialised as PyTorch's `nn.Linear` / `nn.Conv2d` do: weight and bias uniform in
  /// ±1/√fan_in, drawn from `seed`. Supported heads: Gemm (any transB, bias C of the class width or
  /// a scalar), MatMul with a [in, classes] weight and an optional following Add of a [classes]
  /// bias, and an ungrouped 1×1 Conv. Masks of the replaced tensors are dropped (the new head is
  /// dense); the first output's declared class dimension is updated.
  ///
  /// Throws naming the node when the head cannot be replaced: an op of another type, weights that
  /// are not initializers or are shared with another node, a kernel larger than 1×1.
  @discardableResult
  public static func replace(in graph: inout Graph, classes: Int, seed: UInt64) throws -> Replacement {
    guard classes >= 1, classes <= 1 << 24 else {
      throw TrainingError.invalidArgument(what: "new head", message: "expected 1…16777216 classes, got \(classes)")
    }
    guard let output = graph.outputs.first?.name else {
      throw TrainingError.invalidArgument(what: "model '\(graph.name)'", message: "has no outputs")
    }
    var value = output
    var trail: [String] = []
    while let node = graph.producer(of: value), passThrough.contains(node.opType) {
      trail.append("\(node.name) (\(node.opType))")
      value = node.inputs[0]
    }
    guard let node = graph.producer(of: value) else {
      throw headError(graph, output, "'\(value)' is not produced by a layer (a graph input or a constant)")
    }
    var rng = SeededGenerator(seed: seed)
    func weight(_ index: Int, of node: Node) throws -> (String, Tensor) {
      guard index < node.inputs.count, let t = graph.initializers[node.inputs[index]], t.dtype == .float32 else {
        throw headError(graph, output, "node '\(node.name)' (\(node.opType)) reads no float32 weight initializer at input \(index)")
      }
      let name = node.inputs[index]
      let users = graph.nodes.filter { $0.inputs.contains(name) }.map(\.name)
      guard users.count == 1 else {
        throw headError(graph, output, "weight '\(name)' is shared by nodes \(users) (tied weights are not replaced)")
      }
      return (name, t)
    }
    func fresh(_ shape: [Int], fanIn: Int) -> Tensor {
      let bound = 1 / Float(Swift.max(fanIn, 1)).squareRoot()
      return Tensor(shape: shape, floats: (0..<shape.reduce(1, *)).map { _ in (2 * rng.nextUniform() - 1) * bound })
    }
    var replaced: [String] = []
    func set(_ name: String, _ t: Tensor) {
      graph.setInitializer(name, t)
      graph.masks[name] = nil
      replaced.append(name)
    }
    let old: Int
    switch node.opType {
    case "Gemm":
      let (wName, w) = try weight(1, of: node)
      guard w.rank == 2 else { throw headError(graph, output, "Gemm '\(node.name)' weight '\(wName)' is \(w.shape), not 2-D") }
      let transB = (node.attributes["transB"]).flatMap { if case .int(let v) = $0 { v } else { nil } } ?? 0
      let (fanIn, o) = transB != 0 ? (w.shape[1], w.shape[0]) : (w.shape[0], w.shape[1])
      old = o
      set(wName, fresh(transB != 0 ? [classes, fanIn] : [fanIn, classes], fanIn: fanIn))
      if node.inputs.count > 2, !node.inputs[2].isEmpty {
        let (bName, b) = try weight(2, of: node)
        if b.count == old { set(bName, fresh(b.rank == 2 ? [1, classes] : [classes], fanIn: fanIn)) } else if b.count != 1 {
          throw headError(graph, output, "Gemm '\(node.name)' bias '\(bName)' is \(b.shape), neither [\(old)] nor a scalar")
        }
      }
    case "Conv":
      let (wName, w) = try weight(1, of: node)
      let group = (node.attributes["group"]).flatMap { if case .int(let v) = $0 { v } else { nil } } ?? 1
      guard w.rank >= 3, w.shape[2...].allSatisfy({ $0 == 1 }), group == 1 else {
        throw headError(graph, output, "Conv '\(node.name)' has a \(w.shape) kernel in \(group) groups (only an ungrouped 1×1 Conv head is replaced)")
      }
      old = w.shape[0]
      set(wName, fresh([classes] + w.shape.dropFirst(), fanIn: w.shape[1]))
      if node.inputs.count > 2, !node.inputs[2].isEmpty {
        let (bName, _) = try weight(2, of: node)
        set(bName, fresh([classes], fanIn: w.shape[1]))
      }
    case "MatMul", "Add":
      var matmul = node
      var bias: (String, Tensor)? = nil
      if node.opType == "Add" {
        guard let k = node.inputs.firstIndex(where: { graph.initializers[$0] != nil }),
          let mm = graph.producer(of: node.inputs[1 - k]), mm.opType == "MatMul"
        else {
          throw headError(graph, output, "Add '\(node.name)' is not a MatMul plus a bias initializer")
        }
        bias = try weight(k, of: node)
        matmul = mm
      }
      let (wName, w) = try weight(1, of: matmul)
      guard w.rank == 2 else { throw headError(graph, output, "MatMul '\(matmul.name)' weight '\(wName)' is \(w.shape), not 2-D") }
      old = w.shape[1]
      if let (bName, b) = bias {
        guard b.count == old else {
          throw headError(graph, output, "Add '\(node.name)' bias '\(bName)' is \(b.shape), not [\(old)]")
        }
      }
      set(wName, fresh([w.shape[0], classes], fanIn: w.shape[0]))
      if let (bName, _) = bias { set(bName, fresh([classes], fanIn: w.shape[0])) }
    default:
      throw headError(
        graph, output,
        "the logits come from node '\(node.name)' (\(node.opType))\(trail.isEmpty ? "" : " through \(trail.joined(separator: ", "))"); "
          + "a new head replaces a Gemm, a MatMul(+Add) or a 1×1 Conv")
    }
    if var shape = graph.outputs[0].shape, shape.count >= 2, shape[1] == .fixed(old) {
      shape[1] = .fixed(classes)
      graph.outputs[0].shape = shape
    }
    return Replacement(node: node.name, opType: node.opType, tensors: replaced, oldClasses: old, newClasses: classes)
  }

  static func headError(_ graph: Graph, _ output: String, _ message: String) -> TrainingError {
    .invalidArgument(what: "new head for output '\(output)' of '\(graph.name)'", message: message)
  }
}
