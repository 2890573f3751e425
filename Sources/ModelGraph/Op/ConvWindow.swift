import TensorCore

/// Spatial geometry of an N-D window op (conv or pooling; 1-D is stored as 2-D with a unit height), after auto_pad resolution. It lives here
/// because shape inference (`ShapeRules`) reads it as well as Runtime's Conv and pooling kernels.
package struct ConvWindow {
  package var kernel: [Int]  // [kh, kw]
  package var strides: [Int]
  package var dilations: [Int]
  package var padsBegin: [Int]
  package var padsEnd: [Int]
  package var input: [Int]  // [h, w]
  package var output: [Int]  // [oh, ow]

  /// Reads kernel_shape/strides/dilations/pads/auto_pad for an input of spatial size `spatial`
  /// (any number of dims); `ceilMode` is pooling's ceil_mode.
  package init(_ ctx: OpContext, spatial: [Int], kernel: [Int], ceilMode: Bool = false) throws {
    let d = spatial.count
    guard d >= 1, kernel.count == d else {
      throw ctx.unsupported("kernel_shape", "\(kernel) on spatial dims \(spatial) (one entry per spatial dim)")
    }
    var strides = try ctx.ints("strides") ?? [Int](repeating: 1, count: d)
    var dilations = try ctx.ints("dilations") ?? [Int](repeating: 1, count: d)
    var pads = try ctx.ints("pads") ?? [Int](repeating: 0, count: 2 * d)
    guard strides.count == d, dilations.count == d, pads.count == 2 * d else {
      throw ctx.unsupported("strides/dilations/pads", "\(strides)/\(dilations)/\(pads) for \(d)-D")
    }
    // Bounds keep the arithmetic below from dividing by zero or overflowing on a corrupt model.
    let limit = 1 << 24
    guard kernel.allSatisfy({ (1...limit).contains($0) }) else {
      throw ctx.unsupported("kernel_shape", "\(kernel) (each in 1...\(limit))")
    }
    guard strides.allSatisfy({ (1...limit).contains($0) }) else {
      throw ctx.unsupported("strides", "\(strides) (each in 1...\(limit))")
    }
    guard dilations.allSatisfy({ (1...limit).contains($0) }) else {
      throw ctx.unsupported("dilations", "\(dilations) (each in 1...\(limit))")
    }
    guard pads.allSatisfy({ (0...limit).contains($0) }) else {
      throw ctx.unsupported("pads", "\(pads) (each in 0...\(limit))")
    }
    guard spatial.allSatisfy({ (0...(1 << 40)).contains($0) }) else {
      throw ctx.shapeError(expected: "spatial sizes in 0...2^40", found: "\(spatial)")
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
