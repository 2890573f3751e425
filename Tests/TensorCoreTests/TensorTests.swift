import Testing

@testable import TensorCore

@Suite struct TensorTests {
  @Test(arguments: [DType.float16, .bfloat16, .float64, .int32, .int8, .uint8])
  func conversionRoundTripKeepsRepresentableValues(dtype: DType) {
    let values: [Float] = [0, 1, -2, 3, 64, -8, 100, 5]
    let original = Tensor(shape: [2, 4], floats: dtype == .uint8 ? values.map { abs($0) } : values)
    let there = original.converted(to: dtype)
    #expect(there.dtype == dtype)
    #expect(there.rawBytes.count == 8 * dtype.byteWidth)
    #expect(there.converted(to: .float32) == original)
  }

  @Test func bfloat16RoundsToNearestEven() {
    // 1 + 2^-8 is halfway between bfloat16 1.0 and 1.0078125: ties go to the even mantissa (1.0).
    #expect(Tensor.bfloat16Bits(1 + 1.0 / 256) == 0x3F80)
    #expect(Tensor.bfloat16Bits(1 + 3.0 / 256) == 0x3F82)
  }

  @Test func seededRandomIsReproducibleAndSeedDependent() {
    let a = Tensor.normal([64], seed: 7)
    let b = Tensor.normal([64], seed: 7)
    let c = Tensor.normal([64], seed: 8)
    #expect(a == b)
    #expect(a != c)
    let u = Tensor.uniform([10_000], low: -1, high: 1, seed: 1).floats
    #expect(u.allSatisfy { $0 >= -1 && $0 < 1 })
    let mean = u.reduce(0, +) / Float(u.count)
    #expect(abs(mean) < 0.05)
  }

  @Test func rawBytesRejectWrongCount() {
    #expect(throws: TensorError.self) { try Tensor(shape: [3], dtype: .float32, bytes: [0, 0, 0]) }
  }

  @Test func stridesAreRowMajor() {
    #expect(Tensor.strides(of: [2, 3, 4]) == [12, 4, 1])
  }

  @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
  func matmulMatchesHandComputedProduct(transA: Bool, transB: Bool) {
    // A = [[1,2],[3,4]], B = [[5,6],[7,8]]; A·B = [[19,22],[43,50]]
    let a: [Float] = transA ? [1, 3, 2, 4] : [1, 2, 3, 4]
    let b: [Float] = transB ? [5, 7, 6, 8] : [5, 6, 7, 8]
    var c: [Float] = [1, 1, 1, 1]
    gemmReference(
      transA: transA, transB: transB, m: 2, n: 2, k: 2, alpha: 2, a: a, lda: 2, b: b, ldb: 2,
      beta: 1, c: &c, ldc: 2)
    #expect(c == [39, 45, 87, 101])
  }
}
