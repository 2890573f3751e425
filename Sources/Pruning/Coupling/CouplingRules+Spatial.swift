import ModelGraph
import TensorCore

/// Coupling rules for ops that reshape space but not channels: ConvTranspose (decoders), Resize /
/// Upsample, Pad and the Reduce family. Each passes the channel layout through when the channel axis is
/// untouched and blocks (naming the node and why) when it is not.
extension CouplingBuilder {
  /// ConvTranspose: weight [in, out/groups, k…] (ONNX ConvTranspose), bias [out]. Only group = 1 is cut.
  mutating func convTranspose(_ node: Node) {
    guard node.inputs.count > 1, let w = constantTensor(node.inputs[1], in: graph), w.rank >= 3 else {
      return blockInputs(node, "weight is not a constant of rank ≥ 3")
    }
    let groups = node.int("group", default: 1)
    let (cin, cout) = (w.shape[0], w.shape[1] * groups)
    let layout = { (s: Int) in
      ChannelLayout(axis: 1 - w.rank, rank: w.rank, segments: [Segment(space: s, width: 1)])
    }
    guard groups == 1 else {
      blockInputs(node, "grouped ConvTranspose (group=\(groups)) is not cut")
      let s = newSpace(size: cout, parameter: node.inputs[1], axis: 1, node: node)
      spaces.block(s, "node '\(node.name)': grouped ConvTranspose (group=\(groups)) is not cut")
      return setOutput(node, layout(s))
    }
    if let x = layouts[node.inputs[0]] {
      if x.segments.allSatisfy({ $0.width == 1 }), x.axisIndex.map({ $0 == 1 }) ?? true {
        addInputs(x, parameter: node.inputs[1], axis: 0, width: cin, node: node)
      } else {
        blockInputs(node, "reads a flattened input or channels not on axis 1")
      }
    }
    let s = newSpace(size: cout, parameter: node.inputs[1], axis: 1, node: node)
    if node.inputs.count > 2, !node.inputs[2].isEmpty {
      spaces.add(GroupMember(parameter: node.inputs[2], axis: 0, role: .vector, node: node.name), to: s)
    }
    setOutput(node, layout(s))
  }

  /// Resize (opset ≥ 11: X, roi, scales, sizes; opset 10 and Upsample: X, scales): the channels pass
  /// when the scale on the channel axis is a constant 1. Output `sizes` name the channel count: blocked.
  mutating func resize(_ node: Node) {
    guard let x = layouts[node.inputs[0]] else { return }
    guard let rank = x.rank, let index = x.axisIndex else { return blockInputs(node, "rank unknown") }
    let legacy = node.opType == "Upsample" || graph.opsetVersion < 11
    let scalesName = input(node, legacy ? 1 : 2)
    let axes = node.ints("axes")?.map { $0 < 0 ? $0 + rank : $0 } ?? Array(0..<rank)
    guard let position = axes.firstIndex(of: index) else { return setOutput(node, x) }
    if !legacy, !input(node, 3).isEmpty {
      return blockInputs(node, "output sizes are given (they state the channel count)")
    }
    var scales: [Float]? = nil
    if case .floats(let v)? = node.attributes["scales"] { scales = v }
    if let t = constantTensor(scalesName, in: graph), t.dtype == .float32 { scales = t.floats }
    guard let scales, scales.count == axes.count, scales[position] == 1 else {
      return blockInputs(node, "scales are not a constant with 1 on the channel axis")
    }
    setOutput(node, x)
  }

  /// Pad: passes when nothing is padded on the channel axis (pads from the input or, opset < 11, the
  /// attribute; opset 18 `axes` input names the padded axes).
  mutating func pad(_ node: Node) {
    guard let x = layouts[node.inputs[0]] else { return }
    guard let rank = x.rank, let index = x.axisIndex else { return blockInputs(node, "rank unknown") }
    var pads: [Int]? = node.ints("pads")
    if let t = constantTensor(input(node, 1), in: graph), t.dtype == .int64 { pads = t.int64s.map(Int.init) }
    var axes = Array(0..<rank)
    let axesName = input(node, 3)
    if !axesName.isEmpty {
      guard let t = constantTensor(axesName, in: graph), t.dtype == .int64 else {
        return blockInputs(node, "axes are computed at run time")
      }
      axes = t.int64s.map { $0 < 0 ? Int($0) + rank : Int($0) }
    }
    guard let pads, pads.count == 2 * axes.count else {
      return blockInputs(node, "pads are computed at run time")
    }
    if let p = axes.firstIndex(of: index), pads[p] != 0 || pads[p + axes.count] != 0 {
      return blockInputs(node, "pads the channel axis")
    }
    setOutput(node, x)
  }

  /// ReduceMean/Sum/Max/…: reducing other axes keeps the channels (the axis counted from the end moves
  /// when keepdims = 0 drops axes after it); reducing the channel axis blocks.
  mutating func reduce(_ node: Node) {
    guard let x = layouts[node.inputs[0]] else { return }
    guard let rank = x.rank, let index = x.axisIndex else { return blockInputs(node, "rank unknown") }
    var axes: [Int]? = node.ints("axes")
    if let t = constantTensor(input(node, 1), in: graph), t.dtype == .int64 { axes = t.int64s.map(Int.init) }
    if axes == nil, !input(node, 1).isEmpty { return blockInputs(node, "axes are computed at run time") }
    let reduced = Set((axes ?? Array(0..<rank)).map { $0 < 0 ? $0 + rank : $0 })
    if reduced.isEmpty, node.int("noop_with_empty_axes", default: 0) != 0 { return setOutput(node, x) }
    if reduced == [index], node.opType == "ReduceMean", node.int("keepdims", default: 1) != 0,
      x.segments.allSatisfy({ $0.width == 1 })
    {
      // Mean over the channels, kept as size 1: after a cut it is the mean over the kept channels,
      // as LayerNormalization's statistics are (see `layerNorm`).
      channelMeans.insert(node.outputs[0])
      return
    }
    if reduced.isEmpty || reduced.contains(index) {
      return blockInputs(node, "reduces over the channel axis")
    }
    var out = x
    if node.int("keepdims", default: 1) == 0 {
      out.rank = rank - reduced.count
      out.axis = x.axis + reduced.filter { $0 > index }.count
    }
    setOutput(node, out)
  }

  /// The name of input `i`, or "" when the node has fewer inputs.
  func input(_ node: Node, _ i: Int) -> String { i < node.inputs.count ? node.inputs[i] : "" }
}
