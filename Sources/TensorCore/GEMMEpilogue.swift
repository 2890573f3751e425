import Foundation

/// Work `gemm` does on each finished block of C while the block is still in cache, instead of a
/// separate pass over the whole output afterwards (a linear layer's bias, its activation, and the
/// residual connection that follows it in a transformer):
///
///     C ← act(alpha·op(A)·op(B) + beta·C + bias) + residual
///
/// `bias` is [n] (broadcast over rows); `residual` is [m, n] with leading dimension `residualLD` and
/// may not alias C. The pointers are borrowed: the caller keeps them alive for the `gemm` call.
public struct GEMMEpilogue: @unchecked Sendable {
  public enum Activation: Sendable, Equatable {
    case none
    case relu
    /// erf form, x·½·(1 + erf(x/√2)) (Hendrycks & Gimpel 2016).
    case gelu
  }

  public var bias: UnsafePointer<Float>?
  public var residual: UnsafePointer<Float>?
  public var residualLD: Int
  public var activation: Activation

  public init(
    bias: UnsafePointer<Float>? = nil, activation: Activation = .none, residual: UnsafePointer<Float>? = nil,
    residualLD: Int = 0
  ) {
    self.bias = bias
    self.activation = activation
    self.residual = residual
    self.residualLD = residualLD
  }

  /// Nothing to do: plain BLAS semantics.
  public static let none = GEMMEpilogue()

  var isEmpty: Bool { bias == nil && residual == nil && activation == .none }

  /// The epilogue of the sub-block of C starting at (row, col).
  public func offset(row: Int, col: Int) -> GEMMEpilogue {
    GEMMEpilogue(
      bias: bias.map { $0 + col }, activation: activation, residual: residual.map { $0 + row * residualLD + col },
      residualLD: residualLD)
  }

  /// Applies the epilogue to C[0..<m, 0..<n] (row stride ldc), SIMD16 along rows; one specialised
  /// loop per activation, so each loop body is straight-line vector code (a closure here was measured
  /// as an out-of-line call per vector).
  func apply(m: Int, n: Int, c: UnsafeMutablePointer<Float>, ldc: Int) {
    if isEmpty { return }
    switch activation {
    case .none: apply(m: m, n: n, c: c, ldc: ldc, IdentityActivation.self)
    case .relu: apply(m: m, n: n, c: c, ldc: ldc, ReLUActivation.self)
    case .gelu: apply(m: m, n: n, c: c, ldc: ldc, GELUActivation.self)
    }
  }

  @inline(__always)
  private func apply<A: VectorActivation>(
    m: Int, n: Int, c: UnsafeMutablePointer<Float>, ldc: Int, _: A.Type
  ) {
    for i in 0..<m {
      let row = c + i * ldc
      let res = residual.map { $0 + i * residualLD }
      var j = 0
      while j < n {
        // Full vectors, then one partial vector through a register copy (lanes past n are not stored).
        let lanes = Swift.min(16, n - j)
        var v = SIMD16<Float>()
        if lanes == 16 {
          v = UnsafeRawPointer(row + j).loadUnaligned(as: SIMD16<Float>.self)
          if let bias { v += UnsafeRawPointer(bias + j).loadUnaligned(as: SIMD16<Float>.self) }
        } else {
          for l in 0..<lanes { v[l] = row[j + l] + (bias?[j + l] ?? 0) }
        }
        v = A.apply(v)
        if lanes == 16 {
          if let res { v += UnsafeRawPointer(res + j).loadUnaligned(as: SIMD16<Float>.self) }
          UnsafeMutableRawPointer(row + j).storeBytes(of: v, as: SIMD16<Float>.self)
        } else {
          for l in 0..<lanes { row[j + l] = v[l] + (res?[j + l] ?? 0) }
        }
        j += 16
      }
    }
  }

  /// The scalar definition (libm erf in Double), kept to test `apply` against.
  func applyReference(m: Int, n: Int, c: UnsafeMutablePointer<Float>, ldc: Int) {
    for i in 0..<m {
      for j in 0..<n {
        var v = c[i * ldc + j] + (bias?[j] ?? 0)
        switch activation {
        case .none: break
        case .relu: v = v < 0 ? 0 : v
        case .gelu: v = Float(Double(v) * 0.5 * (1 + Foundation.erf(Double(v) / 2.0.squareRoot())))
        }
        c[i * ldc + j] = v + (residual?[i * residualLD + j] ?? 0)
      }
    }
  }
}

/// A lane-wise activation as a type, so generic loops specialise and inline it.
protocol VectorActivation {
  static func apply(_ v: SIMD16<Float>) -> SIMD16<Float>
}

enum IdentityActivation: VectorActivation {
  @inline(__always) static func apply(_ v: SIMD16<Float>) -> SIMD16<Float> { v }
}

enum ReLUActivation: VectorActivation {
  @inline(__always) static func apply(_ v: SIMD16<Float>) -> SIMD16<Float> { v.replacing(with: 0, where: v .< 0) }
}

enum GELUActivation: VectorActivation {
  @inline(__always) static func apply(_ v: SIMD16<Float>) -> SIMD16<Float> {
    v * 0.5 * (1 + simdErf(v * Float(0.5).squareRoot()))
  }
}
