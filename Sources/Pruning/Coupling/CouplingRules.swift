import ModelGraph
import TensorCore

/// The per-op coupling rules of `CouplingBuilder` (one method per op family).
extension CouplingBuilder {
  /// Conv: weight [out, in/groups, k…]. Depthwise (in/groups = 1, out = in) keeps the input's space;
  /// other grouped convs keep their input and output spaces balanced over the groups.
  mutating func conv(_ node: Node) {
    guard node.inputs.count > 1, let w = constantTensor(node.inputs[1], in: graph), w.rank >= 3 else {
      return blockInputs(node, "weight is not a constant of rank ≥ 3")
    }
    let groups = node.int("group", default: 1)
    let (cout, cinPerGroup) = (w.shape[0], w.shape[1])
    let x = layouts[node.inputs[0]]
    let bias = node.inputs.count > 2 && !node.inputs[2].isEmpty ? node.inputs[2] : nil
    if groups > 1, cinPerGroup == 1, cout == groups {
      // Depthwise: channel c in ↔ channel c out.
      guard let x, x.segments.count == 1, x.segments[0].width == 1 else {
        let s = newSpace(size: cout, parameter: node.inputs[1], axis: 0, node: node)
        spaces.block(s, "depthwise node '\(node.name)' ties its output to an input that cannot be cut")
        if let x { block(x, "depthwise node '\(node.name)' reads a concatenated or flattened input") }
        return setOutput(
          node, ChannelLayout(axis: 1 - w.rank, rank: w.rank, segments: [Segment(space: s, width: 1)]))
      }
      let s = x.segments[0].space
      spaces.add(GroupMember(parameter: node.inputs[1], axis: 0, role: .output, node: node.name), to: s)
      if let bias { spaces.add(GroupMember(parameter: bias, axis: 0, role: .vector, node: node.name), to: s) }
      spaces.addDepthwise(s, node: node.name)
      return setOutput(node, ChannelLayout(axis: 1 - w.rank, rank: w.rank, segments: x.segments))
    }
    if let x {
      if groups == 1 {
        guard x.segments.allSatisfy({ $0.width == 1 }) else {
          return blockInputs(node, "reads a flattened input")
        }
        addInputs(x, parameter: node.inputs[1], axis: 1, width: cinPerGroup, node: node)
      } else if x.segments.count == 1, x.segments[0].width == 1,
        spaces.sizeOf(x.segments[0].space) == cinPerGroup * groups
      {
        spaces.add(
          GroupMember(parameter: node.inputs[1], axis: 1, role: .input, node: node.name, convGroups: groups),
          to: x.segments[0].space)
        spaces.balance(x.segments[0].space, blocks: groups)
      } else {
        blockInputs(node, "grouped conv (group=\(groups)) reads a concatenated or mismatched input")
      }
    }
    let s = newSpace(size: cout, parameter: node.inputs[1], axis: 0, node: node)
    if let bias { spaces.add(GroupMember(parameter: bias, axis: 0, role: .vector, node: node.name), to: s) }
    if groups > 1 { spaces.balance(s, blocks: groups) }
    setOutput(node, ChannelLayout(axis: 1 - w.rank, rank: w.rank, segments: [Segment(space: s, width: 1)]))
  }

  /// Gemm: Y = A·B' + C with B [N, K] (transB = 1) or [K, N].
  mutating func gemm(_ node: Node) {
    guard node.inputs.count > 1, let b = constantTensor(node.inputs[1], in: graph), b.rank == 2,
      layouts[node.inputs[1]] == nil
    else { return blockInputs(node, "B is not a constant matrix") }
    let transB = node.int("transB", default: 0) != 0
    let (inAxis, outAxis) = transB ? (1, 0) : (0, 1)
    if let a = layouts[node.inputs[0]] {
      if node.int("transA", default: 0) != 0 || a.axis != -1 {
        blockInputs(node, "transA=1 or channels not on the last axis")
      } else {
        addInputs(a, parameter: node.inputs[1], axis: inAxis, width: b.shape[inAxis], node: node)
      }
    }
    let n = b.shape[outAxis]
    let s = newSpace(size: n, parameter: node.inputs[1], axis: outAxis, node: node)
    let layout = ChannelLayout(axis: -1, rank: 2, segments: [Segment(space: s, width: 1)])
    if node.inputs.count > 2, !node.inputs[2].isEmpty {
      if let c = constantTensor(node.inputs[2], in: graph) {
        if c.rank >= 1, c.shape[c.rank - 1] == n {
          addVector(node.inputs[2], axis: c.rank - 1, layout: layout, node: node)
        }
      } else {
        spaces.block(s, "node '\(node.name)': bias C is not a constant")
      }
    }
    setOutput(node, layout)
  }

  /// MatMul with a constant right operand B [K, N]: a linear layer (ONNX exports of nn.Linear).
  mutating func matmul(_ node: Node) {
    guard node.inputs.count == 2, let b = constantTensor(node.inputs[1], in: graph), b.rank == 2,
      layouts[node.inputs[1]] == nil
    else { return blockInputs(node, "MatMul whose right operand is not a constant matrix") }
    if let a = layouts[node.inputs[0]] {
      if a.axis != -1 {
        blockInputs(node, "channels not on the last axis")
      } else {
        addInputs(a, parameter: node.inputs[1], axis: 0, width: b.shape[0], node: node)
      }
    }
    let s = newSpace(size: b.shape[1], parameter: node.inputs[1], axis: 1, node: node)
    let rank = ranks[node.inputs[0]] ?? layouts[node.inputs[0]]?.rank
    setOutput(node, ChannelLayout(axis: -1, rank: rank, segments: [Segment(space: s, width: 1)]))
  }

  /// Elementwise binary ops: tracked operands couple (residual Add partners); constant operands with
  /// a full channel dimension are per-channel vectors; broadcast constants pass.
  mutating func elementwise(_ node: Node) {
    let operands = node.inputs.filter { !$0.isEmpty }
    guard let first = operands.compactMap({ layouts[$0] }).first else {
      // Channel means combined with constants or each other stay channel means.
      if operands.contains(where: channelMeans.contains),
        operands.allSatisfy({ channelMeans.contains($0) || constantTensor($0, in: graph) != nil })
      {
        channelMeans.insert(node.outputs[0])
      }
      return
    }
    var ok = true
    for name in operands {
      if channelMeans.contains(name) { continue }  // broadcasts along the channels
      if let other = layouts[name] {
        if other != first { ok = unify(first, other, node: node) && ok }
      } else if let c = constantTensor(name, in: graph) {
        let index = c.rank + first.axis
        if index < 0 || c.shape[index] == 1 { continue }
        if c.shape[index] == total(first), !first.segments.contains(where: { $0.width == 0 }) {
          addVector(name, axis: index, layout: first, node: node)
        } else {
          block(
            first, "node '\(node.name)': constant '\(name)' of shape \(c.shape) does not match the channels")
          ok = false
        }
      } else {
        block(
          first,
          "node '\(node.name)' (\(node.opType)) combines the channels with '\(name)', whose layout is unknown"
        )
        ok = false
      }
    }
    var out = first
    out.rank = operands.compactMap { ranks[$0] ?? layouts[$0]?.rank }.max()
    if ok { setOutput(node, out) } else { layouts[node.outputs[0]] = out }
  }

  /// BatchNormalization / InstanceNormalization: scale, bias (and mean, var) are per channel (axis 1).
  mutating func channelNorm(_ node: Node) {
    guard let x = layouts[node.inputs[0]] else { return }
    if let index = x.axisIndex, index != 1 { return blockInputs(node, "channels are not on axis 1") }
    for name in node.inputs.dropFirst() where !name.isEmpty {
      addVector(name, axis: 0, layout: x, node: node)
    }
    setOutput(node, x)
  }

  /// LayerNormalization over the last axis only: scale and bias follow the channels.
  mutating func layerNorm(_ node: Node) {
    guard let x = layouts[node.inputs[0]] else { return }
    let axis = node.int("axis", default: -1)
    let first = axis < 0 ? axis : (x.rank.map { axis - $0 } ?? Int.min)
    if x.axis < first {
      return setOutput(node, x)  // the channel axis is not normalised over
    }
    guard first == -1, x.axis == -1 else {
      return blockInputs(node, "normalises over the channels and other axes")
    }
    for name in node.inputs.dropFirst() where !name.isEmpty {
      if let c = constantTensor(name, in: graph) { addVector(name, axis: c.rank - 1, layout: x, node: node) }
    }
    setOutput(node, x)
  }

  /// Flatten at the channel axis: each channel becomes a block of (spatial size) consecutive inputs.
  mutating func flatten(_ node: Node) {
    guard let x = layouts[node.inputs[0]] else { return }
    guard let rank = x.rank, let index = x.axisIndex, x.segments.allSatisfy({ $0.width == 1 }) else {
      return blockInputs(node, "rank unknown or already flattened")
    }
    var axis = node.int("axis", default: 1)
    if axis < 0 { axis += rank }
    guard axis == index else { return blockInputs(node, "flattens axes before the channel axis") }
    let spatial = index == rank - 1 ? 1 : 0
    setOutput(
      node,
      ChannelLayout(axis: -1, rank: 2, segments: x.segments.map { Segment(space: $0.space, width: spatial) }))
  }

  /// Reshape: [batch, -1] at the channel axis acts as Flatten; a target keeping the leading dims
  /// (0s) and the channel axis last passes through. Anything else blocks.
  mutating func reshape(_ node: Node) {
    guard let x = layouts[node.inputs[0]] else { return }
    guard node.inputs.count > 1, let target = constantTensor(node.inputs[1], in: graph),
      target.dtype == .int64,
      let rank = x.rank, let index = x.axisIndex
    else { return blockInputs(node, "target shape is computed at run time or the rank is unknown") }
    let s = target.int64s.map(Int.init)
    if s.count == 2, index == 1, s[1] > 0 {
      // The target states the flattened size, which a cut would change (`relaxFlattenReshapes`
      // rewrites the provable flattens to [0, -1] before structured pruning).
      return blockInputs(node, "target shape \(s) states the flattened size")
    }
    if s.count == 2, index == 1, s[1] == -1 {
      let spatial = index == rank - 1 ? 1 : 0
      guard x.segments.allSatisfy({ $0.width == 1 }) else { return blockInputs(node, "already flattened") }
      return setOutput(
        node,
        ChannelLayout(
          axis: -1, rank: 2, segments: x.segments.map { Segment(space: $0.space, width: spatial) }))
    }
    if s.count == rank, index == rank - 1, s.dropLast().allSatisfy({ $0 == 0 }), s.last == -1 {
      return setOutput(node, x)
    }
    blockInputs(node, "target shape \(s) moves or splits the channel dimension")
  }

  /// Concat on the channel axis lays channel runs end to end (offsets); on another axis it couples.
  mutating func concat(_ node: Node) {
    let operands = node.inputs.filter { !$0.isEmpty }
    guard let first = operands.compactMap({ layouts[$0] }).first else { return }
    guard let rank = first.rank else { return blockInputs(node, "rank unknown") }
    var axis = node.int("axis", default: 0)
    if axis < 0 { axis += rank }
    guard operands.allSatisfy({ layouts[$0] != nil }) else {
      return blockInputs(node, "joins the channels with a value whose layout is unknown")
    }
    let parts = operands.map { layouts[$0]! }
    if axis == first.axisIndex {
      setOutput(node, ChannelLayout(axis: first.axis, rank: rank, segments: parts.flatMap(\.segments)))
    } else {
      var ok = true
      for part in parts.dropFirst() { ok = unify(first, part, node: node) && ok }
      if ok { setOutput(node, first) }
    }
  }

  mutating func softmax(_ node: Node) {
    guard let x = layouts[node.inputs[0]] else { return }
    let axis = node.int("axis", default: graph.opsetVersion >= 13 ? -1 : 1)
    let same = axis < 0 ? axis == x.axis : x.rank.map { axis - $0 == x.axis } ?? true
    if same { return blockInputs(node, "normalises over the channel axis") }
    setOutput(node, x)
  }

  mutating func transpose(_ node: Node) {
    guard let x = layouts[node.inputs[0]] else { return }
    guard let rank = x.rank, let index = x.axisIndex else { return blockInputs(node, "rank unknown") }
    let perm = node.ints("perm") ?? Array((0..<rank).reversed())
    guard let position = perm.firstIndex(of: index) else { return blockInputs(node, "bad perm \(perm)") }
    setOutput(node, ChannelLayout(axis: position - rank, rank: rank, segments: x.segments))
  }
}
