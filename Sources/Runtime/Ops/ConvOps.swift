import ModelGraph
import TensorCore

/// Conv and ConvTranspose (ONNX spec), any spatial rank, grouped and dilated; Conv runs TensorCore's
/// `conv2d` (3-D as a sum of 2-D convolutions over the depth taps, see `ConvND`).
/// A 1-D convolution is run as 2-D with height 1.
enum ConvOps {
  static func register(into table: inout [OpKey: OpDefinition]) {
    table[OpKey("Conv")] = OpDefinition { ctx in [try conv(ctx)] }
    table[OpKey("ConvTranspose")] = OpDefinition { ctx in [try convTranspose(ctx)] }
  }

  /// Y[n, m, oh, ow] = Σ_{c,i,j} W[m, c, i, j] · X[n, g·C/G + c, oh·s + i·d − p, ow·s + j·d − p] + B[m].
  static func conv(_ ctx: OpContext) throws -> Tensor {
    let x = try ctx.floatInput(0)
    let w = try ctx.floatInput(1)
    let group = try ctx.int("group", default: 1)
    guard x.rank >= 3, w.rank == x.rank else {
      throw ctx.shapeError(
        expected: "X [N, C, spatial…] and W of the same rank", found: "\(x.shape), \(w.shape)")
    }
    let (batch, channels) = (x.shape[0], x.shape[1])
    let outChannels = w.shape[0]
    let kernel = try ctx.ints("kernel_shape") ?? Array(w.shape[2...])
    guard group >= 1, channels % group == 0, outChannels % group == 0, w.shape[1] == channels / group,
      kernel == Array(w.shape[2...])
    else {
      throw ctx.shapeError(
        expected: "W [M, C/group=\(channels / Swift.max(group, 1)), kernel]", found: "\(w.shape)")
    }
    let win = try ConvWindow(ctx, spatial: Array(x.shape[2...]), kernel: kernel)
    let bias = try ctx.optionalInput(2).map { b -> [Float] in
      guard b.count == outChannels else {
        throw ctx.shapeError(expected: "B [\(outChannels)]", found: "\(b.shape)")
      }
      return b.asFloats()
    }
    if x.rank == 5 {
      return try ConvND.conv3d(x, w, bias: bias, win: win, group: group)
    } else if x.rank > 5 {
      return ConvND.reference(
        x, w, bias: bias, strides: win.strides, padsBegin: win.padsBegin, dilations: win.dilations, group: group,
        output: win.output)
    }
    // TensorCore's conv2d (im2col + gemm, direct SIMD depthwise); 1-D runs with a unit height.
    let x4 = try x.reshaped([batch, channels, win.input[0], win.input[1]])
    let w4 = try w.reshaped([outChannels, channels / group, win.kernel[0], win.kernel[1]])
    let y = try conv2d(
      x4, weight: w4, bias: bias.map { Tensor(shape: [outChannels], floats: $0) }, stride: win.strides,
      padding: [win.padsBegin[0], win.padsBegin[1], win.padsEnd[0], win.padsEnd[1]],
      dilation: win.dilations, groups: group)
    return try y.reshaped([batch, outChannels] + Array(win.output.suffix(x.rank - 2)))
  }
}
