import Foundation
import TensorCoreAVX512

/// A register-blocked micro-kernel: C[mr, nr] (row stride ldc) ← alpha·(Apacked[kc][mr] ·
/// Bpacked[kc][nr]) + beta·C, C not read when beta == 0.
typealias MicroKernel =
  @Sendable (
    _ kc: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
    _ ldc: Int, _ alpha: Float, _ beta: Float
  ) -> Void

/// A micro-kernel and the cache blocking around it (Goto & van de Geijn 2008): an mc×kc block of A
/// stays in L2, a kc×nr sliver of B streams through L1, a kc×nc panel of B stays in L3.
struct GEMMTiling: Sendable {
  let mr: Int
  let nr: Int
  let mc: Int
  let kc: Int
  let nc: Int
  let kernel: MicroKernel

  /// 8×32 AVX-512 tile: 16 zmm accumulators.
  static let avx512 = GEMMTiling(
    mr: avx512KernelRows, nr: avx512KernelColumns, blocks: blocksOverride ?? (96, 512, 2048),
    kernel: { gemmKernel8x32(kc: $0, a: $1, b: $2, c: $3, ldc: $4, alpha: $5, beta: $6) })
  /// 6×16 AVX2 tile: 12 ymm accumulators.
  static let avx2 = GEMMTiling(
    mr: avx2KernelRows, nr: avx2KernelColumns, blocks: blocksOverride ?? (96, 256, 2048),
    kernel: { gemmKernel6x16(kc: $0, a: $1, b: $2, c: $3, ldc: $4, alpha: $5, beta: $6) })

  init(mr: Int, nr: Int, blocks: (mc: Int, kc: Int, nc: Int), kernel: @escaping MicroKernel) {
    (self.mr, self.nr, self.kernel) = (mr, nr, kernel)
    // mc and nc are rounded up to whole slivers.
    mc = (max(blocks.mc, 1) + mr - 1) / mr * mr
    kc = max(blocks.kc, 1)
    nc = (max(blocks.nc, 1) + nr - 1) / nr * nr
  }

  /// For tuning only: `PRUNEKIT_GEMM_BLOCKS=mc,kc,nc` replaces the cache blocking of both tilings.
  static let blocksOverride: (Int, Int, Int)? = {
    guard let text = getenvString("PRUNEKIT_GEMM_BLOCKS") else { return nil }
    let v = text.split(separator: ",").compactMap { Int($0) }
    return v.count == 3 && v.allSatisfy({ $0 > 0 }) ? (v[0], v[1], v[2]) : nil
  }()

  /// Floats of scratch one serial call needs: an A block, a B panel and an edge tile.
  var scratchCount: Int { mc * kc + kc * nc + mr * nr + 64 }
}

/// C[m, n] ← alpha·op(A)·op(B) + beta·C on the calling thread, blocked and packed; the epilogue runs on
/// each mc×nc block of C right after its last k block, while the block is still in L2.
func gemmBlockedSerial(
  _ t: GEMMTiling, m: Int, n: Int, k: Int, alpha: Float, a: MatrixView, b: MatrixView, beta: Float,
  c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: GEMMEpilogue = .none, packed: PackedBPanels? = nil
) {
  ScratchBuffers.shared.with(count: t.scratchCount) { scratch in
    let aPack = scratch
    let bPack = scratch + t.mc * t.kc
    let edge = bPack + t.kc * t.nc
    for jc in stride(from: 0, to: n, by: t.nc) {
      let nc = min(t.nc, n - jc)
      for pc in stride(from: 0, to: k, by: t.kc) {
        let kc = min(t.kc, k - pc)
        // After the first k block, C already holds alpha·partial + beta·C: accumulate onto it.
        let betaHere = pc == 0 ? beta : 1
        let bPanel: UnsafePointer<Float>
        if let packed {
          bPanel = packed.panel(row: pc, column: jc, kc: kc)
        } else {
          packB(b.offset(row: pc, col: jc), kc: kc, nc: nc, nr: t.nr, into: bPack)
          bPanel = UnsafePointer(bPack)
        }
        for ic in stride(from: 0, to: m, by: t.mc) {
          let mc = min(t.mc, m - ic)
          packA(a.offset(row: ic, col: pc), mc: mc, kc: kc, mr: t.mr, into: aPack)
          macroKernel(
            t, mc: mc, nc: nc, kc: kc, aPack: aPack, bPack: bPanel, alpha: alpha, beta: betaHere,
            c: c + ic * ldc + jc, ldc: ldc, edge: edge)
          if pc + kc == k {
            epilogue.offset(row: ic, col: jc).apply(m: mc, n: nc, c: c + ic * ldc + jc, ldc: ldc)
          }
        }
      }
    }
  }
}

/// All micro-tiles of one packed mc×kc A block times one packed kc×nc B panel.
@inline(__always)
func macroKernel(
  _ t: GEMMTiling, mc: Int, nc: Int, kc: Int, aPack: UnsafePointer<Float>, bPack: UnsafePointer<Float>,
  alpha: Float, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, edge: UnsafeMutablePointer<Float>
) {
  for jr in stride(from: 0, to: nc, by: t.nr) {
    let cols = min(t.nr, nc - jr)
    let bSliver = bPack + jr * kc
    for ir in stride(from: 0, to: mc, by: t.mr) {
      let rows = min(t.mr, mc - ir)
      let aSliver = aPack + ir * kc
      let cTile = c + ir * ldc + jr
      if rows == t.mr && cols == t.nr {
        t.kernel(kc, aSliver, bSliver, cTile, ldc, alpha, beta)
      } else {
        // Edge tile: compute the full padded tile into `edge`, then merge the valid part.
        t.kernel(kc, aSliver, bSliver, edge, t.nr, alpha, 0)
        for r in 0..<rows {
          let dst = cTile + r * ldc
          let src = edge + r * t.nr
          if beta == 0 {
            for j in 0..<cols { dst[j] = src[j] }
          } else {
            for j in 0..<cols { dst[j] = src[j] + beta * dst[j] }
          }
        }
      }
    }
  }
}

/// Splits C into column (or row) strips, one per thread, each computed by `gemmBlockedSerial`: the
/// threads share nothing but read-only A/B, so there is no barrier inside the call.
func gemmBlocked(
  _ t: GEMMTiling, m: Int, n: Int, k: Int, alpha: Float, a: MatrixView, b: MatrixView, beta: Float,
  c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int, epilogue: GEMMEpilogue = .none,
  packed: PackedBPanels? = nil
) {
  let parts = threads
  if parts <= 1 {
    gemmBlockedSerial(
      t, m: m, n: n, k: k, alpha: alpha, a: a, b: b, beta: beta, c: c, ldc: ldc, epilogue: epilogue,
      packed: packed)
    return
  }
  let cPointer = SendablePointer(c)
  // Split the longer of m and n: each thread packs only its share of that operand (rows of A or
  // columns of B) and all of the other, so the smaller operand is the one packed twice. A side too
  // short for a few tiles per thread is not split.
  let splitColumns = n >= m ? n >= parts * t.nr : m < parts * 2 * t.mr
  let total = splitColumns ? n : m
  let unit = splitColumns ? t.nr : t.mr
  let units = (total + unit - 1) / unit
  let aView = SendableMatrixView(a)
  let bView = SendableMatrixView(b)
  ThreadPool.shared.parallelFor(parts, threads: parts) { part in
    let start = min(total, units * part / parts * unit)
    let end = min(total, units * (part + 1) / parts * unit)
    guard end > start else { return }
    if splitColumns {
      gemmBlockedSerial(
        t, m: m, n: end - start, k: k, alpha: alpha, a: aView.view,
        b: bView.view.offset(row: 0, col: start), beta: beta, c: cPointer.base + start, ldc: ldc,
        epilogue: epilogue.offset(row: 0, col: start), packed: packed?.offset(column: start))
    } else {
      gemmBlockedSerial(
        t, m: end - start, n: n, k: k, alpha: alpha, a: aView.view.offset(row: start, col: 0),
        b: bView.view, beta: beta, c: cPointer.base + start * ldc, ldc: ldc,
        epilogue: epilogue.offset(row: start, col: 0), packed: packed)
    }
  }
}

/// A read-only matrix view handed to worker threads (the caller keeps the memory alive).
struct SendableMatrixView: @unchecked Sendable {
  let view: MatrixView
  init(_ view: MatrixView) { self.view = view }
}

/// Reused 64-byte-aligned scratch buffers, so a GEMM call does not page-fault fresh megabytes.
final class ScratchBuffers: @unchecked Sendable {
  static let shared = ScratchBuffers()
  private let lock = NSLock()
  private var free: [(pointer: UnsafeMutablePointer<Float>, count: Int)] = []

  func with<R>(count: Int, _ body: (UnsafeMutablePointer<Float>) -> R) -> R {
    lock.lock()
    var buffer: (pointer: UnsafeMutablePointer<Float>, count: Int)
    if let index = free.firstIndex(where: { $0.count >= count }) {
      buffer = free.remove(at: index)
    } else {
      let raw = UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 64)
      buffer = (raw.bindMemory(to: Float.self, capacity: count), count)
    }
    lock.unlock()
    defer {
      lock.lock()
      free.append(buffer)
      if free.count > 8 { free.removeFirst().pointer.deallocate() }
      lock.unlock()
    }
    return body(buffer.pointer)
  }
}
