import Testing

@testable import TensorCore

@Suite struct ShapeOpsTests {
  let iota = Tensor(shape: [2, 3, 4], floats: (0..<24).map(Float.init))

  @Test func broadcastShapeFollowsNumpyRules() throws {
    #expect(try broadcastShape([2, 1, 4], [3, 1]) == [2, 3, 4])
    #expect(try broadcastShape([], [5]) == [5])
    #expect(try broadcastShape([1], [0]) == [0])
    #expect(throws: TensorError.self) { try broadcastShape([2, 3], [4, 3]) }
  }

  @Test func transposeMatchesHandComputed() throws {
    let t = try iota.transposed(perm: [2, 0, 1])
    #expect(t.shape == [4, 2, 3])
    // t[k, i, j] = iota[i, j, k] = 12i + 4j + k; t[1, 1, 2] = 12 + 8 + 1 = 21
    #expect(t.floats[1 * 6 + 1 * 3 + 2] == 21)
    #expect(try t.transposed(perm: [1, 2, 0]) == iota)
    #expect(throws: TensorError.self) { try iota.transposed(perm: [0, 0, 1]) }
  }

  @Test func sliceFollowsOnnxSemantics() throws {
    // negative step reverses; clamped ends; Int.max as "to the end"
    let v = Tensor(shape: [5], floats: [0, 1, 2, 3, 4])
    #expect(try v.slice(starts: [-1], ends: [Int.min], steps: [-1]).floats == [4, 3, 2, 1, 0])
    #expect(try v.slice(starts: [1], ends: [Int.max], steps: [2]).floats == [1, 3])
    #expect(try v.slice(starts: [3], ends: [1]).floats == [])
    #expect(try v.slice(starts: [-2], ends: [100]).floats == [3, 4])
    #expect(try v.slice(starts: [10], ends: [-10], steps: [-2]).floats == [4, 2, 0])
    let s = try iota.slice(starts: [1, -1], ends: [3, 0], axes: [1, 2], steps: [1, -2])
    #expect(s.shape == [2, 2, 2])
    #expect(s.floats == [7, 5, 11, 9, 19, 17, 23, 21])
    #expect(throws: TensorError.self) { try v.slice(starts: [0], ends: [1], steps: [0]) }
  }

  @Test func concatInvertsSplit() throws {
    for axis in 0..<3 {
      let parts = try iota.split(parts: 2, axis: axis)
      #expect(try concat(parts, axis: axis) == iota)
    }
    let pieces = try iota.split(sizes: [1, 3], axis: -1)
    #expect(pieces.map(\.shape) == [[2, 3, 1], [2, 3, 3]])
    #expect(try concat(pieces, axis: 2) == iota)
    // uneven num_outputs split: ceil(3 / 2) = 2, then 1
    #expect(try iota.split(parts: 2, axis: 1).map(\.shape) == [[2, 2, 4], [2, 1, 4]])
    #expect(throws: TensorError.self) { try concat([iota, Tensor.zeros([2, 2, 5])], axis: 1) }
  }

  @Test func int64ShapeArithmeticWorks() throws {
    let shape = Tensor(shape: [4], int64s: [1, 128, 12, 32])
    let heads = try gather(shape, indices: Tensor(shape: [2], int64s: [-2, 3]), axis: 0)
    #expect(heads.int64s == [12, 32])
    #expect(try mul(heads, Tensor(shape: [], int64s: [2])).int64s == [24, 64])
    #expect(try div(Tensor(shape: [1], int64s: [-7]), Tensor(shape: [1], int64s: [2])).int64s == [-3])
    let joined = try concat([shape.slice(starts: [0], ends: [2]), Tensor(shape: [1], int64s: [-1])], axis: 0)
    #expect(joined.int64s == [1, 128, -1])
    #expect(throws: TensorError.self) { try add(shape, Tensor.zeros([4])) }
  }

  @Test func gatherRowsLikeAnEmbedding() throws {
    let table = Tensor(shape: [4, 2], floats: [0, 1, 10, 11, 20, 21, 30, 31])
    let out = try gather(table, indices: Tensor(shape: [1, 3], int64s: [3, 0, 3]), axis: 0)
    #expect(out.shape == [1, 3, 2])
    #expect(out.floats == [30, 31, 0, 1, 30, 31])
    let columns = try gather(table, indices: Tensor(shape: [], int64s: [1]), axis: 1)
    #expect(columns.shape == [4])
    #expect(columns.floats == [1, 11, 21, 31])
    #expect(throws: TensorError.self) { try gather(table, indices: Tensor(shape: [1], int64s: [4])) }
  }

  @Test func expandBroadcastsBothWays() throws {
    let column = Tensor(shape: [3, 1], floats: [1, 2, 3])
    let e = try column.expand(to: [2, 1, 2])
    #expect(e.shape == [2, 3, 2])
    #expect(e.floats == [1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3])
  }

  @Test(arguments: 0..<6)
  func transposeTwiceIsIdentityAndMatchesIndexing(seed: Int) throws {
    var rng = SeededGenerator(seed: UInt64(seed))
    let rank = randomInt(&rng, 1...5)
    let shape = (0..<rank).map { _ in randomInt(&rng, 1...5) }
    let x = Tensor.normal(shape, seed: UInt64(seed))
    let perm = Array(0..<rank).shuffled(using: &rng)
    let t = try x.transposed(perm: perm)
    var inverse = perm
    for (i, p) in perm.enumerated() { inverse[p] = i }
    #expect(try t.transposed(perm: inverse) == x)
    // element check through explicit index arithmetic
    let inStrides = Tensor.strides(of: shape), outStrides = Tensor.strides(of: t.shape)
    for flat in 0..<t.count {
      var source = 0
      for axis in 0..<rank { source += (flat / outStrides[axis]) % t.shape[axis] * inStrides[perm[axis]] }
      #expect(t.floats[flat] == x.floats[source])
    }
  }
}
