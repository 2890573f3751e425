import TensorCore

/// Output shapes computed from input shapes alone, for the ops whose outputs are large (so shape
/// inference never runs their arithmetic). Ops without a rule are run on zero-filled stand-ins,
/// which is cheap for the data-movement and shape-arithmetic ops that remain.
enum ShapeRules {
  typealias Rule = @Sendable (OpContext, [[Int]], [DType]) throws -> [([Int], DType)]

  static let sameShape: Set<String> = [
    "Relu", "LeakyRelu", "Elu", "Gelu", "Erf", "Tanh", "Sigmoid", "HardSigmoid", "HardSwish", "Softplus",
    "Clip", "Softmax", "LogSoftmax", "Sqrt", "Exp", "Log", "Reciprocal", "Floor", "Ceil", "Round", "Sin",
    "Cos", "Neg", "Abs", "Sign", "BatchNormalization", "LayerNormalization", "InstanceNormalization",
    "Identity", "Not", "PRelu", "Mish", "Selu", "Celu", "Softsign", "ThresholdedRelu", "Tan", "Atan", "LRN",
  ]
  static let broadcasting: Set<String> = [
    "Add", "Sub", "Mul", "Div", "Pow", "Mod", "Min", "Max", "Sum", "Mean",
  ]
  static let comparisons: Set<String> = [
    "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "And", "Or", "Xor",
  ]

  /// The rule for `opType`, checking first that the node has the inputs the rule reads (a node
  /// with too few inputs is an error, not an index out of range: found by fuzzing).
  static func rule(for opType: String) -> Rule? {
    guard let rule = unchecked(for: opType) else { return nil }
    let required = ["MatMul": 2, "Gemm": 2, "Conv": 2, "Where": 3][opType] ?? 1
    return { ctx, s, t in
      guard s.count >= required, t.count >= required else {
        throw ctx.shapeError(expected: "at least \(required) input(s) for \(opType)", found: "\(s.count)")
      }
      return try rule(ctx, s, t)
    }
  }

  private static func unchecked(for opType: String) -> Rule? {
    if sameShape.contains(opType) { return { _, s, t in [(s[0], t[0])] } }
    if broadcasting.contains(opType) || comparisons.contains(opType) {
      let bool = comparisons.contains(opType)
      return { ctx, s, t in
        var shape = s[0]
        for other in s.dropFirst() {
          guard let b = Indexing.broadcast(shape, other) else {
            throw ctx.shapeError(expected: "broadcastable shapes", found: "\(s)")
          }
          shape = b
        }
        return [(shape, bool ? .bool : t[0])]
      }
    }
    switch opType {
    case "MatMul": return matmul
    case "Gemm": return gemm
    case "Conv": return conv
    case "MaxPool", "AveragePool": return pool
    case "GlobalAveragePool", "GlobalMaxPool":
      return { ctx, s, t in
        guard s[0].count >= 3 else { throw ctx.shapeError(expected: "[N, C, spatial…]", found: "\(s[0])") }
        return [(Array(s[0].prefix(2)) + [Int](repeating: 1, count: s[0].count - 2), t[0])]
      }
    case "Transpose":
      return { ctx, s, t in
        let perm = try ctx.ints("perm") ?? Array((0..<s[0].count).reversed())
        guard perm.sorted() == Array(0..<s[0].count) else {
          throw ctx.unsupported("perm", "\(perm) (not a permutation of the \(s[0].count) axes of \(s[0]))")
        }
        return [(perm.map { s[0][$0] }, t[0])]
      }
    case "Where":
      return { ctx, s, t in
        guard let a = Indexing.broadcast(s[0], s[1]), let b = Indexing.broadcast(a, s[2]) else {
          throw ctx.shapeError(expected: "broadcastable shapes", found: "\(s)")
        }
        return [(b, t[1])]
      }
    default: return nil
    }
  }

  static let matmul: Rule = { ctx, s, t in
    let (a, b) = (s[0].count == 1 ? [1] + s[0] : s[0], s[1].count == 1 ? s[1] + [1] : s[1])
    guard a.count >= 2, b.count >= 2, a[a.count - 1] == b[b.count - 2],
      let batch = Indexing.broadcast(Array(a.dropLast(2)), Array(b.dropLast(2)))
    else { throw ctx.shapeError(expected: "[..., M, K] × [..., K, N]", found: "\(s[0]) × \(s[1])") }
    var out = batch + [a[a.count - 2], b[b.count - 1]]
    if s[0].count == 1 { out.remove(at: out.count - 2) }
    if s[1].count == 1 { out.removeLast() }
    return [(out, t[0])]
  }

  /// ONNX Gemm: A [M, K] (or [K, M] with transA), B [K, N] (or [N, K] with transB), C broadcast to [M, N].
  static let gemm: Rule = { ctx, s, t in
    guard s.count >= 2, s[0].count == 2, s[1].count == 2 else {
      throw ctx.shapeError(expected: "A and B of rank 2", found: "\(s.prefix(2).map { "\($0)" })")
    }
    let (transA, transB) = (try ctx.int("transA", default: 0) != 0, try ctx.int("transB", default: 0) != 0)
    let (m, ka) = transA ? (s[0][1], s[0][0]) : (s[0][0], s[0][1])
    let (kb, n) = transB ? (s[1][1], s[1][0]) : (s[1][0], s[1][1])
    guard ka == kb else {
      let b = transB ? "[N, K]" : "[K, N]"
      throw ctx.shapeError(
        expected: "B '\(ctx.node.inputs[1])' \(b) with K = \(ka) (A is \(s[0]))", found: "\(s[1])")
    }
    if s.count > 2, !s[2].isEmpty, Indexing.broadcast([m, n], s[2]) != [m, n] {
      throw ctx.shapeError(expected: "C broadcastable to [\(m), \(n)]", found: "\(s[2])")
    }
    return [([m, n], t[0])]
  }

  /// ONNX Conv: X [N, C, spatial…], W [M, C / group, kernel…].
  static let conv: Rule = { ctx, s, t in
    guard s.count >= 2, s[0].count >= 3, s[1].count == s[0].count else {
      throw ctx.shapeError(
        expected: "X [N, C, spatial…] and W of the same rank", found: "\(s.prefix(2).map { "\($0)" })")
    }
    let group = try ctx.int("group", default: 1)
    guard group >= 1, s[0][1] % group == 0, s[1][1] * group == s[0][1], s[1][0] % group == 0 else {
      throw ctx.shapeError(
        expected: "W '\(ctx.node.inputs[1])' [M, \(s[0][1] / max(group, 1)), …] for \(s[0][1]) input "
          + "channels in \(group) group(s)", found: "\(s[1])")
    }
    let kernel = try ctx.ints("kernel_shape") ?? Array(s[1].dropFirst(2))
    guard kernel == Array(s[1].dropFirst(2)) else {
      throw ctx.shapeError(
        expected: "W '\(ctx.node.inputs[1])' with spatial dims kernel_shape \(kernel)", found: "\(s[1])")
    }
    let win = try ConvWindow(ctx, spatial: Array(s[0].dropFirst(2)), kernel: kernel)
    return [([s[0][0], s[1][0]] + Array(win.output.suffix(s[0].count - 2)), t[0])]
  }

  static let pool: Rule = { ctx, s, t in
    guard s[0].count >= 3 else { throw ctx.shapeError(expected: "[N, C, spatial…]", found: "\(s[0])") }
    guard let kernel = try ctx.ints("kernel_shape") else { throw ctx.unsupported("kernel_shape", "missing") }
    let ceil = try ctx.int("ceil_mode", default: 0) != 0
    let win = try ConvWindow(ctx, spatial: Array(s[0].dropFirst(2)), kernel: kernel, ceilMode: ceil)
    return [(Array(s[0].prefix(2)) + Array(win.output.suffix(s[0].count - 2)), t[0])]
  }
}
