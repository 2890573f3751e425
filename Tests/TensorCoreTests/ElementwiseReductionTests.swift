import Foundation
import Testing

@testable import TensorCore

@Suite struct ElementwiseReductionTests {
  /// Broadcast ops are a single float op per element: fast and reference agree exactly except pow.
  static let elementwiseTolerance: Float = 0
  /// Float32 SIMD sums vs the Double reference over ≤ ~10⁵ N(0,1) values.
  static let sumTolerance: Float = 2e-3

  /// Shape pairs that exercise every broadcasting pattern (scalar, row, column, middle axis, both ways).
  static let shapePairs: [([Int], [Int])] = [
    ([7], [7]), ([3, 17], [17]), ([3, 17], [3, 1]), ([], [4, 5]), ([2, 1, 33], [1, 5, 1]),
    ([4, 1, 6], [3, 1]), ([128, 384], [384]), ([2, 300, 130], [2, 300, 130]), ([1], [9, 1]),
  ]

  @Test(arguments: shapePairs.indices)
  func broadcastOpsMatchReference(index: Int) throws {
    let (sa, sb) = Self.shapePairs[index]
    let a = Tensor.normal(sa, seed: UInt64(index))
    let b = Tensor.uniform(sb, low: 0.5, high: 2, seed: UInt64(index) + 50)
    let expectedShape = try broadcastShape(sa, sb)
    let ops: [(String, (Tensor, Tensor) throws -> Tensor, (Float, Float) -> Float)] = [
      ("add", add, { $0 + $1 }), ("sub", sub, { $0 - $1 }), ("mul", mul, { $0 * $1 }),
      ("div", div, { $0 / $1 }), ("maximum", maximum, { Swift.max($0, $1) }),
      ("minimum", minimum, { Swift.min($0, $1) }),
    ]
    for (name, fast, scalar) in ops {
      let out = try fast(a, b)
      #expect(out.shape == expectedShape)
      #expect(maxAbsDiff(out, try broadcastReference(a, b, scalar)) <= Self.elementwiseTolerance, "\(name)")
      // the reversed operand order exercises the other broadcasting side
      #expect(maxAbsDiff(try fast(b, a), try broadcastReference(b, a, scalar)) <= Self.elementwiseTolerance)
    }
    let p = try pow(b, a)
    #expect(maxAbsDiff(p, try broadcastReference(b, a, { Foundation.powf($0, $1) })) <= 1e-5)
  }

  @Test func binaryOpsHandComputed() throws {
    let a = Tensor(shape: [2, 1], floats: [1, 2])
    let b = Tensor(shape: [3], floats: [10, 20, 30])
    #expect(try add(a, b).floats == [11, 21, 31, 12, 22, 32])
    #expect(try sub(a, b).shape == [2, 3])
    #expect(try broadcast(a, b, { $0 * 100 + $1 }).floats == [110, 120, 130, 210, 220, 230])
    #expect(throws: TensorError.self) { try add(Tensor.zeros([2, 3]), Tensor.zeros([4])) }
    #expect(Tensor(shape: [2], floats: [1, -2]).multiplied(by: 3).floats == [3, -6])
  }

  @Test(arguments: 0..<12)
  func reductionsMatchReference(seed: Int) throws {
    var rng = SeededGenerator(seed: UInt64(seed) + 300)
    let rank = randomInt(&rng, 1...4)
    let shape = (0..<rank).map { _ in randomInt(&rng, 1...(rank > 2 ? 9 : 300)) }
    let x = Tensor.normal(shape, seed: UInt64(seed))
    let axes = (0..<rank).filter { _ in rng.next() % 2 == 0 }.map { rng.next() % 2 == 0 ? $0 : $0 - rank }
    for kind in [ReductionKind.sum, .mean, .max, .min] {
      for keep in [true, false] {
        let fast = try x.reduce(kind, axes: axes, keepDims: keep)
        let ref = try x.reduceReference(kind, axes: axes, keepDims: keep)
        #expect(fast.shape == ref.shape)
        #expect(maxAbsDiff(fast, ref) <= Self.sumTolerance, "\(kind) \(shape) axes \(axes)")
      }
    }
  }

  @Test func reductionsHandComputed() throws {
    let x = Tensor(shape: [2, 3], floats: [1, 5, 3, 4, 2, 6])
    #expect(try x.reduceSum(axes: [1], keepDims: false).floats == [9, 12])
    #expect(try x.reduceMean(axes: [0]).shape == [1, 3])
    #expect(try x.reduceMean(axes: [0]).floats == [2.5, 3.5, 4.5])
    #expect(try x.reduceMax().floats == [6])
    #expect(try x.reduceMin(axes: [-1], keepDims: false).floats == [1, 2])
    #expect(try x.argmax(axis: 1, keepDims: false).int64s == [1, 2])
    #expect(try x.argmax(axis: 0).int64s == [1, 0, 1])
    let ties = Tensor(shape: [4], floats: [1, 3, 3, 0])
    #expect(try ties.argmax(axis: 0).int64s == [1])
    #expect(try ties.argmax(axis: 0, selectLastIndex: true).int64s == [2])
  }
}
