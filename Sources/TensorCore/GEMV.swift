// Matrix-vector products for GEMMs with m == 1 or n == 1 (batch-1 inference such as 1×784×300):
// packing would cost as much as the product itself, so these read the matrix in place.
//
// Both cases are y[j] = alpha·Σ_p x[p]·M(p, j) + beta·y[j] for j in 0..<count, where x is contiguous
// [k] and M(p, j) is either mat[p·ld + j] ("rows": axpy form) or mat[j·ld + p] ("columns": dot form).
// y has element stride yStride; it is not read when beta == 0.

/// GEMV over the output range j0..<j1 (the unit of parallel work).
func gemvRange(
  x: UnsafePointer<Float>, k: Int, mat: UnsafePointer<Float>, ld: Int, dotForm: Bool, j0: Int,
  j1: Int, alpha: Float, beta: Float, y: UnsafeMutablePointer<Float>, yStride: Int
) {
  @inline(__always) func put(_ j: Int, _ sum: Float) {
    let dst = y + j * yStride
    dst.pointee = beta == 0 ? alpha * sum : alpha * sum + beta * dst.pointee
  }
  if dotForm {
    // Four dot products at a time share each load of x.
    var j = j0
    while j + 4 <= j1 {
      let r0 = mat + j * ld
      let r1 = r0 + ld
      let r2 = r1 + ld
      let r3 = r2 + ld
      var s0 = SIMD16<Float>(), s1 = SIMD16<Float>(), s2 = SIMD16<Float>(), s3 = SIMD16<Float>()
      var p = 0
      while p + 16 <= k {
        let xv = load16(x + p)
        s0 = s0.addingProduct(xv, load16(r0 + p))
        s1 = s1.addingProduct(xv, load16(r1 + p))
        s2 = s2.addingProduct(xv, load16(r2 + p))
        s3 = s3.addingProduct(xv, load16(r3 + p))
        p += 16
      }
      var t0 = s0.sum(), t1 = s1.sum(), t2 = s2.sum(), t3 = s3.sum()
      while p < k {
        t0 += x[p] * r0[p]; t1 += x[p] * r1[p]; t2 += x[p] * r2[p]; t3 += x[p] * r3[p]
        p += 1
      }
      put(j, t0); put(j + 1, t1); put(j + 2, t2); put(j + 3, t3)
      j += 4
    }
    while j < j1 {
      let r = mat + j * ld
      var s = SIMD16<Float>()
      var p = 0
      while p + 16 <= k { s = s.addingProduct(load16(x + p), load16(r + p)); p += 16 }
      var t = s.sum()
      while p < k { t += x[p] * r[p]; p += 1 }
      put(j, t)
      j += 1
    }
    return
  }
  // axpy form: 64 outputs at a time in 4 SIMD16 accumulators, streaming k rows of the matrix.
  var j = j0
  while j + 64 <= j1 {
    var s0 = SIMD16<Float>(), s1 = SIMD16<Float>(), s2 = SIMD16<Float>(), s3 = SIMD16<Float>()
    var row = mat + j
    for p in 0..<k {
      let xv = SIMD16<Float>(repeating: x[p])
      s0 = s0.addingProduct(xv, load16(row))
      s1 = s1.addingProduct(xv, load16(row + 16))
      s2 = s2.addingProduct(xv, load16(row + 32))
      s3 = s3.addingProduct(xv, load16(row + 48))
      row += ld
    }
    for l in 0..<16 { put(j + l, s0[l]) }
    for l in 0..<16 { put(j + 16 + l, s1[l]) }
    for l in 0..<16 { put(j + 32 + l, s2[l]) }
    for l in 0..<16 { put(j + 48 + l, s3[l]) }
    j += 64
  }
  while j + 16 <= j1 {
    var s = SIMD16<Float>()
    var row = mat + j
    for p in 0..<k {
      s = s.addingProduct(SIMD16(repeating: x[p]), load16(row))
      row += ld
    }
    for l in 0..<16 { put(j + l, s[l]) }
    j += 16
  }
  if j < j1 {
    // Fewer than 16 outputs left: scalar, reading rows of the matrix in order.
    // Sums in a stack buffer: a SIMD16 lane indexed by a loop variable was measured at ~10 ns per
    // access (LeNet's 300 = 4·64 + 2·16 + 12 outputs spent 100 µs here).
    let width = j1 - j
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 16) { sums in
      sums.initialize(repeating: 0)
      var row = mat + j
      for p in 0..<k {
        let xp = x[p]
        for l in 0..<width { sums[l] += xp * row[l] }
        row += ld
      }
      for l in 0..<width { put(j + l, sums[l]) }
    }
  }
}

@inline(__always) func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
  UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}

/// GEMV split over the thread pool in chunks of outputs (multiples of 64).
func gemv(
  x: UnsafePointer<Float>, k: Int, mat: UnsafePointer<Float>, ld: Int, dotForm: Bool, count: Int,
  alpha: Float, beta: Float, y: UnsafeMutablePointer<Float>, yStride: Int, threads: Int
) {
  let parts = min(threads, max(1, count / 64))
  if parts <= 1 {
    gemvRange(
      x: x, k: k, mat: mat, ld: ld, dotForm: dotForm, j0: 0, j1: count, alpha: alpha, beta: beta,
      y: y, yStride: yStride)
    return
  }
  let (xs, ms, ys) = (SendableConstPointer(x), SendableConstPointer(mat), SendablePointer(y))
  let blocks = (count + 63) / 64
  ThreadPool.shared.parallelFor(parts, threads: parts) { part in
    let j0 = min(count, blocks * part / parts * 64)
    let j1 = min(count, blocks * (part + 1) / parts * 64)
    gemvRange(
      x: xs.base, k: k, mat: ms.base, ld: ld, dotForm: dotForm, j0: j0, j1: j1, alpha: alpha,
      beta: beta, y: ys.base, yStride: yStride)
  }
}
