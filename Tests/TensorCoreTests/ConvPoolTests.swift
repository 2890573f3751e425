import Testing

@testable import TensorCore

/// Fast convolution/pooling vs the scalar references on seeded random problems.
@Suite struct ConvPoolTests {
  /// conv2d: float32 sums of ≤ ~300 products of N(0,1) values vs a Double-accumulated reference.
  static let convTolerance: Float = 2e-4
  /// pooling is exact for max; avg differs only by summation order.
  static let poolTolerance: Float = 1e-5

  struct ConvCase: CustomStringConvertible {
    var n, c, h, w, o, kh, kw, groups: Int
    var stride: [Int], padding: [Int], dilation: [Int]
    var description: String {
      "x[\(n),\(c),\(h),\(w)] w[\(o),\(c / groups),\(kh),\(kw)] s\(stride) p\(padding) d\(dilation) g\(groups)"
    }
  }

  /// Random cases plus the shapes that take special paths: 1×1, depthwise, grouped, large stride.
  static let convCases: [ConvCase] = {
    var cases = [
      ConvCase(
        n: 1, c: 8, h: 5, w: 7, o: 6, kh: 1, kw: 1, groups: 1, stride: [1, 1], padding: [0, 0, 0, 0],
        dilation: [1, 1]),
      ConvCase(
        n: 2, c: 6, h: 9, w: 8, o: 6, kh: 3, kw: 3, groups: 6, stride: [1, 1], padding: [1, 1, 1, 1],
        dilation: [1, 1]),
      ConvCase(
        n: 1, c: 5, h: 11, w: 10, o: 10, kh: 3, kw: 3, groups: 5, stride: [2, 2], padding: [1, 0, 2, 1],
        dilation: [1, 1]),
      ConvCase(
        n: 1, c: 4, h: 9, w: 17, o: 4, kh: 5, kw: 5, groups: 4, stride: [1, 2], padding: [2, 2, 2, 2],
        dilation: [2, 1]),
      ConvCase(
        n: 2, c: 3, h: 28, w: 28, o: 5, kh: 5, kw: 5, groups: 1, stride: [1, 1], padding: [0, 0, 0, 0],
        dilation: [1, 1]),
      ConvCase(
        n: 1, c: 8, h: 6, w: 6, o: 12, kh: 3, kw: 1, groups: 4, stride: [3, 1], padding: [0, 1, 0, 1],
        dilation: [1, 1]),
      ConvCase(
        n: 1, c: 4, h: 7, w: 7, o: 4, kh: 1, kw: 1, groups: 1, stride: [2, 2], padding: [0, 0, 0, 0],
        dilation: [1, 1]),
    ]
    var rng = SeededGenerator(seed: 2024)
    for _ in 0..<12 {
      let groups = [1, 1, 2, 3][randomInt(&rng, 0...3)]
      let c = groups * randomInt(&rng, 1...4)
      let o = groups * randomInt(&rng, 1...4)
      let (kh, kw) = (randomInt(&rng, 1...4), randomInt(&rng, 1...4))
      let stride = [randomInt(&rng, 1...3), randomInt(&rng, 1...3)]
      let dilation = [randomInt(&rng, 1...2), randomInt(&rng, 1...2)]
      let padding = (0..<4).map { _ in randomInt(&rng, 0...2) }
      let h = (kh - 1) * dilation[0] + randomInt(&rng, 1...9)
      let w = (kw - 1) * dilation[1] + randomInt(&rng, 1...19)
      cases.append(
        ConvCase(
          n: randomInt(&rng, 1...2), c: c, h: h, w: w, o: o, kh: kh, kw: kw, groups: groups, stride: stride,
          padding: padding, dilation: dilation))
    }
    return cases
  }()

  @Test(arguments: convCases.indices)
  func conv2dMatchesReference(index: Int) throws {
    let c = Self.convCases[index]
    let seed = UInt64(index)
    let x = Tensor.normal([c.n, c.c, c.h, c.w], seed: seed)
    let w = Tensor.normal([c.o, c.c / c.groups, c.kh, c.kw], seed: seed + 100)
    let b = Tensor.normal([c.o], seed: seed + 200)
    for bias in [b, nil] {
      let fast = try conv2d(
        x, weight: w, bias: bias, stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups
      )
      let reference = try conv2dReference(
        x, weight: w, bias: bias, stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups
      )
      #expect(fast.shape == reference.shape)
      #expect(maxAbsDiff(fast, reference) <= Self.convTolerance, "\(c)")
    }
  }

  @Test func conv2dHandComputed() throws {
    // 1 channel 3×3 input, 2×2 kernel of ones, bias 1, padding 1 on the top only, stride 1.
    let x = Tensor(shape: [1, 1, 3, 3], floats: [1, 2, 3, 4, 5, 6, 7, 8, 9])
    let w = Tensor.filled([1, 1, 2, 2], with: 1)
    let out = try conv2d(x, weight: w, bias: Tensor(shape: [1], floats: [1]), padding: [1, 0, 0, 0])
    #expect(out.shape == [1, 1, 3, 2])
    #expect(out.floats == [4, 6, 13, 17, 25, 29])
  }

  @Test func conv2dRejectsBadShapes() {
    let x = Tensor.zeros([1, 4, 5, 5])
    #expect(throws: TensorError.self) { try conv2d(x, weight: Tensor.zeros([2, 3, 3, 3])) }
    #expect(throws: TensorError.self) { try conv2d(x, weight: Tensor.zeros([3, 2, 3, 3]), groups: 2) }
    #expect(throws: TensorError.self) { try conv2d(x, weight: Tensor.zeros([2, 4, 7, 7])) }
    #expect(throws: TensorError.self) {
      try conv2d(x, weight: Tensor.zeros([2, 4, 3, 3]), bias: Tensor.zeros([3]))
    }
  }

  /// im2col and col2im are adjoint: ⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩ for every x, c.
  @Test(arguments: [0, 1, 2, 3])
  func col2imIsTheAdjointOfIm2col(seed: Int) throws {
    var rng = SeededGenerator(seed: UInt64(seed))
    let g = try Conv2DGeometry(
      channels: randomInt(&rng, 1...3), height: randomInt(&rng, 3...8), width: randomInt(&rng, 3...9),
      kernel: [randomInt(&rng, 1...3), randomInt(&rng, 1...3)],
      stride: [randomInt(&rng, 1...2), randomInt(&rng, 1...3)],
      padding: (0..<4).map { _ in randomInt(&rng, 0...1) }, dilation: [randomInt(&rng, 1...2), 1])
    let x = Tensor.normal([g.channels, g.height, g.width], seed: UInt64(seed))
    let c = Tensor.normal([g.columnRows, g.columnCols], seed: UInt64(seed) + 9)
    let lhs = zip(try im2col(x, g).floats, c.floats).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    let rhs = zip(x.floats, try col2im(c, g).floats).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    #expect(Swift.abs(lhs - rhs) <= 1e-3 * Swift.max(1, Swift.abs(lhs)))
  }

  @Test func im2colHandComputed() throws {
    // 1×2×3 image, 1×2 kernel, pad left 1: columns are (x[-1], x[0]), (x[0], x[1]), …
    let g = try Conv2DGeometry(channels: 1, height: 2, width: 3, kernel: [1, 2], padding: [0, 1, 0, 0])
    let col = try im2col(Tensor(shape: [1, 2, 3], floats: [1, 2, 3, 4, 5, 6]), g)
    #expect(col.shape == [2, 6])
    #expect(col.floats == [0, 1, 2, 0, 4, 5, 1, 2, 3, 4, 5, 6])
  }

  @Test(arguments: 0..<10)
  func poolingMatchesReference(seed: Int) throws {
    var rng = SeededGenerator(seed: UInt64(seed) + 77)
    let kernel = [randomInt(&rng, 1...4), randomInt(&rng, 1...4)]
    let stride = [randomInt(&rng, 1...3), randomInt(&rng, 1...3)]
    let padding = (0..<4).map { i in randomInt(&rng, 0...(kernel[i % 2] - 1) / 2 + 0) }
    let ceil = seed % 2 == 0
    let shape = [
      randomInt(&rng, 1...2), randomInt(&rng, 1...3), kernel[0] + randomInt(&rng, 0...9),
      kernel[1] + randomInt(&rng, 0...17),
    ]
    let x = Tensor.normal(shape, seed: UInt64(seed))
    let dilation = [randomInt(&rng, 1...2), 1]
    let paddedShape = [shape[2] + padding[0] + padding[2], shape[3] + padding[1] + padding[3]]
    if (kernel[0] - 1) * dilation[0] + 1 <= paddedShape[0] {
      let fast = try maxPool2d(
        x, kernel: kernel, stride: stride, padding: padding, dilation: dilation, ceilMode: ceil)
      let ref = try maxPool2dReference(
        x, kernel: kernel, stride: stride, padding: padding, dilation: dilation, ceilMode: ceil)
      #expect(maxAbsDiff(fast, ref) == 0, "max \(shape) k\(kernel) s\(stride) p\(padding)")
    }
    for include in [false, true] {
      let fast = try avgPool2d(
        x, kernel: kernel, stride: stride, padding: padding, countIncludePad: include, ceilMode: ceil)
      let ref = try avgPool2dReference(
        x, kernel: kernel, stride: stride, padding: padding, countIncludePad: include, ceilMode: ceil)
      #expect(maxAbsDiff(fast, ref) <= Self.poolTolerance, "avg \(shape) k\(kernel) s\(stride) p\(padding)")
    }
    let global = try globalAvgPool2d(x)
    #expect(global.shape == [shape[0], shape[1], 1, 1])
    #expect(maxAbsDiff(global, try globalAvgPool2dReference(x)) <= Self.poolTolerance)
  }

  @Test func maxPoolHandComputed() throws {
    let x = Tensor(shape: [1, 1, 3, 3], floats: [1, 5, 2, 7, 3, 9, 4, 8, 6])
    let out = try maxPool2d(x, kernel: [2, 2], stride: [1, 1])
    #expect(out.floats == [7, 9, 8, 9])
    let avg = try avgPool2d(
      x, kernel: [2, 2], stride: [2, 2], padding: [0, 0, 1, 1], countIncludePad: false)
    #expect(avg.floats == [4, 5.5, 6, 6])
  }
}
