// Packing of A and B panels for the blocked GEMM (Goto & van de Geijn 2008, §4): a block of op(A)
// becomes k-major slivers of `mr` rows, a block of op(B) k-major slivers of `nr` columns, so the
// micro-kernel reads both with unit stride. Partial slivers at the edges are padded with zeros, so the
// kernel always computes a full tile.

/// Reads op(X) = X (stored [rows, cols], leading dimension ld) or Xᵀ (X stored [cols, rows]).
struct MatrixView {
  let base: UnsafePointer<Float>
  let ld: Int
  let transposed: Bool

  @inline(__always) subscript(row: Int, col: Int) -> Float {
    transposed ? base[col * ld + row] : base[row * ld + col]
  }

  /// The view of op(X)[row0..., col0...].
  func offset(row: Int, col: Int) -> MatrixView {
    MatrixView(
      base: base + (transposed ? col * ld + row : row * ld + col), ld: ld, transposed: transposed)
  }
}

/// Packs op(A)[0..<mc, 0..<kc] (a view already offset to the block) into `dest`:
/// dest[s][p][r] = op(A)[s·mr + r, p], slivers s of `mr` rows, zero rows past mc.
func packA(_ a: MatrixView, mc: Int, kc: Int, mr: Int, into dest: UnsafeMutablePointer<Float>) {
  var out = dest
  for i0 in stride(from: 0, to: mc, by: mr) {
    let rows = min(mr, mc - i0)
    if a.transposed {
      // op(A)[i, p] = A[p, i]: for each p the sliver's rows are contiguous in memory.
      for p in 0..<kc {
        let src = a.base + p * a.ld + i0
        for r in 0..<rows { out[p * mr + r] = src[r] }
        for r in rows..<mr { out[p * mr + r] = 0 }
      }
    } else {
      // op(A)[i, p] = A[i, p]: read each row contiguously, scatter with stride mr.
      for r in 0..<rows {
        let src = a.base + (i0 + r) * a.ld
        for p in 0..<kc { out[p * mr + r] = src[p] }
      }
      for r in rows..<mr { for p in 0..<kc { out[p * mr + r] = 0 } }
    }
    out += kc * mr
  }
}

/// Packs op(B)[0..<kc, 0..<nc] (a view already offset to the block) into `dest`:
/// dest[s][p][c] = op(B)[p, s·nr + c], slivers s of `nr` columns, zero columns past nc.
func packB(_ b: MatrixView, kc: Int, nc: Int, nr: Int, into dest: UnsafeMutablePointer<Float>) {
  var out = dest
  for j0 in stride(from: 0, to: nc, by: nr) {
    let cols = min(nr, nc - j0)
    if b.transposed {
      // op(B)[p, j] = B[j, p]: read each of the sliver's columns contiguously, scatter with stride nr.
      for c in 0..<cols {
        let src = b.base + (j0 + c) * b.ld
        for p in 0..<kc { out[p * nr + c] = src[p] }
      }
      for c in cols..<nr { for p in 0..<kc { out[p * nr + c] = 0 } }
    } else {
      // op(B)[p, j] = B[p, j]: each k step is a contiguous run of the sliver's columns.
      for p in 0..<kc {
        let src = b.base + p * b.ld + j0
        let row = out + p * nr
        row.update(from: src, count: cols)
        for c in cols..<nr { row[c] = 0 }
      }
    }
    out += kc * nr
  }
}
