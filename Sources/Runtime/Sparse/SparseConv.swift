import ModelGraph
import TensorCore

/// A 1×1 convolution (group 1, stride 1, no padding or dilation) whose weight is a Float32 initializer:
/// a matrix product over each image's [C, H·W] planes, which the sparse kernel runs in place
/// (`spmmChannelMajor`: no im2col, no transposes).
struct PointwiseConv {
  let node: Node
  /// [Cout, Cin, 1, 1]
  let weight: Tensor
  let inChannels: Int
  let outChannels: Int
  let zeroFraction: Double

  init?(_ node: Node, in graph: Graph) {
    guard node.opType == "Conv", node.domain.isEmpty, node.inputs.count >= 2,
      let w = graph.initializers[node.inputs[1]], w.dtype == .float32, w.rank >= 3,
      w.shape.dropFirst(2).allSatisfy({ $0 == 1 }), w.count > 0
    else { return nil }
    func ints(_ name: String) -> [Int]? {
      switch node.attributes[name] {
      case .ints(let v)?: return v
      case .int(let v)?: return [v]
      default: return nil
      }
    }
    if case .int(let g)? = node.attributes["group"], g != 1 { return nil }
    if let s = ints("strides"), s.contains(where: { $0 != 1 }) { return nil }
    if let d = ints("dilations"), d.contains(where: { $0 != 1 }) { return nil }
    if let p = ints("pads"), p.contains(where: { $0 != 0 }) { return nil }
    if case .string(let pad)? = node.attributes["auto_pad"],
      !["NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"].contains(pad)
    {
      return nil
    }
    if node.inputs.count > 2, !node.inputs[2].isEmpty {
      guard let b = graph.initializers[node.inputs[2]], b.dtype == .float32, b.count == w.shape[0] else {
        return nil
      }
    }
    self.node = node
    weight = w
    outChannels = w.shape[0]
    inChannels = w.shape[1]
    var zeros = 0
    for v in w.floats where v == 0 { zeros += 1 }
    zeroFraction = Double(zeros) / Double(w.count)
  }

  /// W as op(B) [Cin, Cout] in the csr layout.
  func sparse() throws -> SparseMatrix {
    try weight.floats.withUnsafeBufferPointer {
      try SparseMatrix.make(
        b: $0.baseAddress!, ldb: inChannels, transposed: true, k: inChannels, n: outChannels, layout: .csr)
    }
  }

  /// Y [N, Cout, spatial…] = W · X [N, Cin, spatial…] + bias, image by image.
  static func kernel(_ matrix: SparseMatrix) -> OpKernel {
    { ctx in
      let x = try ctx.floatInput(0)
      guard x.rank >= 3, x.shape[1] == matrix.k else {
        throw ctx.shapeError(expected: "[N, \(matrix.k), spatial…]", found: "\(x.shape)")
      }
      let bias = ctx.inputCount > 2 ? ctx.optionalInput(2) : nil
      if let bias, bias.count != matrix.n {
        throw ctx.shapeError(expected: "bias of \(matrix.n) elements", found: "\(bias.shape)")
      }
      let batch = x.shape[0]
      let spatial = x.shape.dropFirst(2).reduce(1, *)
      let count = batch * matrix.n * spatial
      let xv = x.floats
      let biasValues = bias?.floats ?? []
      let out = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
        LinearOps.withOptionalPointer(biasValues) { b in
          xv.withUnsafeBufferPointer { xp in
            for image in 0..<batch {
              spmmChannelMajor(
                matrix, m: spatial, x: xp.baseAddress! + image * matrix.k * spatial, ldx: spatial,
                y: buffer.baseAddress! + image * matrix.n * spatial, ldy: spatial, bias: b)
            }
          }
        }
        initialized = count
      }
      return [Tensor(shape: [batch, matrix.n] + Array(x.shape.dropFirst(2)), floats: out)]
    }
  }
}
