import Testing

@testable import TensorCore

/// Blocked Cholesky and triangular inverse against the unblocked Double references.
@Suite struct CholeskyTests {
  static let tolerance = 2e-4

  /// A = BᵀB/k + I (symmetric positive definite), n crossing the block width.
  static func spd(_ n: Int, seed: UInt64) -> [Float] {
    let b = Tensor.normal([n + 7, n], seed: seed).floats
    var a = [Float](repeating: 0, count: n * n)
    for i in 0..<n {
      for j in 0..<n {
        var s: Float = 0
        for p in 0..<(n + 7) { s += b[p * n + i] * b[p * n + j] }
        a[i * n + j] = s / Float(n + 7) + (i == j ? 1 : 0)
      }
    }
    return a
  }

  @Test(arguments: [1, 5, 64, 65, 150]) func blockedCholeskyMatchesReference(n: Int) throws {
    var a = Self.spd(n, seed: UInt64(n))
    let reference = try #require(choleskyLowerReference(a.map(Double.init), n: n))
    let ok = a.withUnsafeMutableBufferPointer { choleskyLower($0.baseAddress!, n: n) }
    #expect(ok)
    let worst = zip(a, reference).map { abs(Double($0) - $1) }.max() ?? 0
    #expect(worst < Self.tolerance, "max |Δ| = \(worst)")
    var x = [Float](repeating: 0, count: n * n)
    a.withUnsafeBufferPointer { l in x.withUnsafeMutableBufferPointer { invertLowerTriangular(l.baseAddress!, n: n, into: $0.baseAddress!) } }
    let inverse = invertLowerTriangularReference(reference, n: n)
    let worstInverse = zip(x, inverse).map { abs(Double($0) - $1) }.max() ?? 0
    #expect(worstInverse < Self.tolerance, "max |Δ| = \(worstInverse)")
  }

  @Test func indefiniteMatrixIsRefused() {
    var a: [Float] = [1, 2, 2, 1]  // eigenvalues 3 and −1
    #expect(!a.withUnsafeMutableBufferPointer { choleskyLower($0.baseAddress!, n: 2) })
    #expect(choleskyLowerReference([1, 2, 2, 1], n: 2) == nil)
  }
}

extension CholeskyTests {
  @Test(arguments: [(3, 5), (130, 17), (300, 64)]) func symmetricRankKMatchesGEMMReference(n: Int, k: Int) {
    let x = Tensor.normal([k, n], seed: UInt64(n)).floats
    var c = Tensor.normal([n, n], seed: 9).floats
    for i in 0..<n { for j in 0..<i { c[i * n + j] = c[j * n + i] } }  // symmetric start
    var expected = c
    x.withUnsafeBufferPointer { xb in
      expected.withUnsafeMutableBufferPointer {
        gemmReference(
          transA: true, transB: false, m: n, n: n, k: k, alpha: 0.5, a: xb.baseAddress!, lda: n, b: xb.baseAddress!,
          ldb: n, beta: 1, c: $0.baseAddress!, ldc: n)
      }
      c.withUnsafeMutableBufferPointer {
        symmetricRankKUpdate(n: n, k: k, alpha: 0.5, x: xb.baseAddress!, ldx: n, c: $0.baseAddress!)
      }
    }
    let worst = zip(c, expected).map { abs($0 - $1) }.max() ?? 0
    #expect(worst < 1e-3, "max |Δ| = \(worst)")
  }
}
