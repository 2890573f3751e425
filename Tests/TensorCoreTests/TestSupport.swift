import Testing

@testable import TensorCore

/// Largest |a − b| over two float tensors of the same shape (∞ if shapes differ).
func maxAbsDiff(_ a: Tensor, _ b: Tensor) -> Float {
  guard a.shape == b.shape else { return .infinity }
  let (x, y) = (a.asFloats(), b.asFloats())
  var worst: Float = 0
  for i in x.indices {
    if x[i].isNaN != y[i].isNaN { return .infinity }
    if x[i].isNaN || x[i] == y[i] { continue }
    worst = Swift.max(worst, Swift.abs(x[i] - y[i]))
  }
  return worst
}

/// Deterministic small random shapes: `count` shapes of `rank` dims in 1...maxDim.
func randomShapes(count: Int, rank: Int, maxDim: Int, seed: UInt64) -> [[Int]] {
  var rng = SeededGenerator(seed: seed)
  return (0..<count).map { _ in (0..<rank).map { _ in 1 + Int(rng.next() % UInt64(maxDim)) } }
}

func randomInt(_ rng: inout SeededGenerator, _ range: ClosedRange<Int>) -> Int {
  range.lowerBound + Int(rng.next() % UInt64(range.count))
}
