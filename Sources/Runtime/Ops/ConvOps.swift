import TensorCore

/// Conv and ConvTranspose (ONNX spec), 1-D and 2-D, grouped and dilated; Conv runs TensorCore's `conv2d`.
/// A 1-D convolution is run as 2-D with height 1.
enum ConvOps {
  static func register(into table: inout [OpKey: OpDefinition]) {
    table[OpKey("Conv")] = OpDefinition { ctx in [try conv(ctx)] }
    table[OpKey("ConvTranspose")] = OpDefinition { ctx in [try convTranspose(ctx)] }
  }

  /// Spatial geometry of a 2-D window op (conv or pooling), after auto_pad resolution.
  struct Window {
    var kernel: [Int]  // [kh, kw]
    var strides: [Int]
    var dilations: [Int]
    var padsBegin: [Int]
    var padsEnd: [Int]
    var input: [Int]  // [h, w]
    var output: [Int]  // [oh, ow]

    /// Reads kernel_shape/strides/dilations/pads/auto_pad for an input of spatial size `spatial`
    /// (1 or 2 dims); `ceilMode` is pooling's ceil_mode.
    init(_ ctx: OpContext, spatial: [Int], kernel: [Int], ceilMode: Bool = false) throws {
      let d = spatial.count
      guard d == 1 || d == 2, kernel.count == d else {
        throw ctx.unsupported("kernel_shape", "\(kernel) on spatial dims \(spatial) (1-D and 2-D only)")
      }
      var strides = try ctx.ints("strides") ?? [Int](repeating: 1, count: d)
      var dilations = try ctx.ints("dilations") ?? [Int](repeating: 1, count: d)
      var pads = try ctx.ints("pads") ?? [Int](repeating: 0, count: 2 * d)
      guard strides.count == d, dilations.count == d, pads.count == 2 * d else {
        throw ctx.unsupported("strides/dilations/pads", "\(strides)/\(dilations)/\(pads) for \(d)-D")
      }
      let autoPad = try ctx.string("auto_pad", default: "NOTSET")
      var output = [Int](repeating: 0, count: d)
      for i in 0..<d {
        let extent = (kernel[i] - 1) * dilations[i] + 1
        switch autoPad {
        case "NOTSET":
          let span = spatial[i] + pads[i] + pads[i + d] - extent
          output[i] = (ceilMode ? (span + strides[i] - 1) / strides[i] : span / strides[i]) + 1
          if ceilMode, (output[i] - 1) * strides[i] >= spatial[i] + pads[i] { output[i] -= 1 }
        case "VALID":
          pads[i] = 0
          pads[i + d] = 0
          output[i] = (spatial[i] - extent) / strides[i] + 1
        case "SAME_UPPER", "SAME_LOWER":
          output[i] = (spatial[i] + strides[i] - 1) / strides[i]
          let total = Swift.max(0, (output[i] - 1) * strides[i] + extent - spatial[i])
          pads[i] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2
          pads[i + d] = total - pads[i]
        default: throw ctx.unsupported("auto_pad", autoPad)
        }
        guard output[i] >= 1 else {
          throw ctx.shapeError(expected: "a window that fits the input", found: "spatial \(spatial)")
        }
      }
      var k = kernel
      var input = spatial
      var padsBegin = Array(pads[..<d])
      var padsEnd = Array(pads[d...])
      if d == 1 {  // run 1-D as 2-D with a unit height
        k = [1] + k
        strides = [1] + strides
        dilations = [1] + dilations
        input = [1] + input
        padsBegin = [0] + padsBegin
        padsEnd = [0] + padsEnd
        output = [1] + output
      }
      self.kernel = k
      self.strides = strides
      self.dilations = dilations
      self.padsBegin = padsBegin
      self.padsEnd = padsEnd
      self.input = input
      self.output = output
    }
  }

  /// Y[n, m, oh, ow] = Σ_{c,i,j} W[m, c, i, j] · X[n, g·C/G + c, oh·s + i·d − p, ow·s + j·d − p] + B[m].
  static func conv(_ ctx: OpContext) throws -> Tensor {
    let x = try ctx.floatInput(0)
    let w = try ctx.floatInput(1)
    let group = try ctx.int("group", default: 1)
    guard x.rank == 3 || x.rank == 4, w.rank == x.rank else {
      throw ctx.shapeError(
        expected: "X [N, C, (H,) W] and W of the same rank", found: "\(x.shape), \(w.shape)")
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
    let win = try Window(ctx, spatial: Array(x.shape[2...]), kernel: kernel)
    let bias = try ctx.optionalInput(2).map { b -> [Float] in
      guard b.count == outChannels else {
        throw ctx.shapeError(expected: "B [\(outChannels)]", found: "\(b.shape)")
      }
      return b.asFloats()
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
