import ArgumentParser
import Foundation
import PruneKit

/// The int8 rows of `prunekit bench kernels`: the int8 GEMM (VNNI and AVX2 micro-kernels) against the
/// packed Float32 GEMM on the same linear-layer shapes, each int8 kernel checked against
/// `gemmInt8Reference` before it is timed. "int8 + quantize" adds the per-row quantization of the
/// activations that a dynamic int8 layer does on every call. "sparse-int8" runs `spmmInt8` on the same
/// weights with a seeded `sparsity` fraction zeroed independently (the hard case for a 4-k VNNI group),
/// checked against the reference on those weights; "int8 avx512" is the dense kernel on them (its time
/// does not depend on the values).
struct Int8KernelBench {
  struct Row: Encodable {
    let shape: String
    let threads: Int
    /// Milliseconds per call, by kernel ("fp32", "int8 avx512", "int8 avx2", "quantize rows",
    /// "sparse-int8").
    var milliseconds: [String: Double] = [:]
  }

  let shapes: [BenchShape]
  let threads: [Int]
  let repeats: Int
  /// Fraction of the weights zeroed for the sparse-int8 column (independent, seeded).
  let sparsity: Double

  func run() throws -> [Row] {
    var rows: [Row] = []
    for shape in shapes {
      let (m, k, n) = (shape.m, shape.k, shape.n)
      var rng = SeededGenerator(seed: 8)
      let w = (0..<(k * n)).map { _ in Double(rng.nextUniform()) < sparsity ? 0 : rng.nextNormal() * 0.05 }  // op(B) [k, n]
      let x = (0..<(m * k)).map { _ in rng.nextNormal() }
      let (wq, scales) = quantizeWeightSymmetric(w, k: k, n: n, transposed: false, perChannel: true)
      let packedFloat = w.withUnsafeBufferPointer {
        PackedMatrix(b: $0.baseAddress!, ldb: n, transposed: false, k: k, n: n)
      }
      let kinds: [KernelKind] = CPUFeatures.hasAVX512VNNI ? [.avx512, .avx2] : [.avx2]
      let packed = kinds.map { kind in
        wq.withUnsafeBufferPointer {
          PackedInt8Matrix(
            b: $0.baseAddress!, ldb: n, transposed: false, k: k, n: n, scales: scales, kernel: kind)
        }
      }
      let sparse =
        SparseInt8Matrix.hasFastKernel
        ? wq.withUnsafeBufferPointer {
          SparseInt8Matrix(b: $0.baseAddress!, ldb: n, transposed: false, k: k, n: n, scales: scales)
        } : nil
      let ld = (packed.map { $0.paddedK } + [sparse?.paddedK ?? 0]).max()!
      var q = [UInt8](repeating: 0, count: m * ld)
      var rowScales = [Float](repeating: 0, count: m)
      var rowZeros = [Int32](repeating: 0, count: m)
      var y = [Float](repeating: 0, count: m * n)
      var reference = [Float](repeating: 0, count: m * n)
      quantizeRowsSymmetric(x: x, m: m, k: k, ldx: k, q: &q, ldq: ld, scales: &rowScales, zeros: &rowZeros)
      gemmInt8Reference(
        m: m, n: n, k: k, a: q, lda: ld, rowScales: rowScales, rowZeros: rowZeros, b: wq, ldb: n,
        columnScales: scales, c: &reference, ldc: n)
      for t in threads {
        var row = Row(shape: shape.label, threads: t)
        // Checked against the reference once, then timed.
        func measure(_ name: String, _ product: () -> Void) throws {
          product()
          let worst = zip(y, reference).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? 0
          guard worst <= 1e-5 else {
            throw ValidationError("\(name) differs from gemmInt8Reference on \(shape.label): \(worst)")
          }
          row.milliseconds[name] =
            1e3 * KernelTimer.bestSecondsPerCall(batches: repeats, minimumSeconds: 0.02, product)
        }
        for (kind, b) in zip(kinds, packed) {
          try measure("int8 \(kind)") {
            gemmInt8(
              m: m, a: q, lda: ld, rowScales: rowScales, rowZeros: rowZeros, b: b, c: &y, ldc: n, threads: t)
          }
        }
        if let sparse {
          try measure("sparse-int8") {
            spmmInt8(
              m: m, a: q, lda: ld, rowScales: rowScales, rowZeros: rowZeros, b: sparse, c: &y, ldc: n, threads: t)
          }
        }
        row.milliseconds["quantize rows"] =
          1e3
          * KernelTimer.bestSecondsPerCall(batches: repeats, minimumSeconds: 0.02) {
            quantizeRowsSymmetric(
              x: x, m: m, k: k, ldx: k, q: &q, ldq: ld, scales: &rowScales, zeros: &rowZeros)
          }
        row.milliseconds["fp32"] =
          1e3
          * KernelTimer.bestSecondsPerCall(batches: repeats, minimumSeconds: 0.02) {
            gemm(
              transA: false, m: m, alpha: 1, a: x, lda: k, packedB: packedFloat, beta: 0, c: &y, ldc: n,
              threads: t)
          }
        rows.append(row)
      }
    }
    return rows
  }

  static func printTable(_ rows: [Row], sparsity: Double) {
    print("\nint8 GEMM vs packed Float32 GEMM (ms per call; int8 checked against gemmInt8Reference first;")
    print(String(format: "weights %.0f %% zeros, independent: sparse-int8 runs them without the zeros)", sparsity * 100))
    let kernels = ["fp32", "int8 avx512", "int8 avx2", "sparse-int8", "quantize rows"]
    let table = ReportTable(
      columns: ["shape", "threads"] + kernels + ["int8+quant vs fp32", "sparse vs int8"],
      rows: rows.map { r in
        let best = min(r.milliseconds["int8 avx512"] ?? .infinity, r.milliseconds["int8 avx2"] ?? .infinity)
        let ratio = (r.milliseconds["fp32"] ?? 0) / (best + (r.milliseconds["quantize rows"] ?? 0))
        return [r.shape, "\(r.threads)"] + kernels.map { r.milliseconds[$0].map { String(format: "%.3f", $0) } ?? "-" }
          + [String(format: "%.2f×", ratio), r.milliseconds["sparse-int8"].map { String(format: "%.2f×", best / $0) } ?? "-"]
      })
    print(table.text(), terminator: "")
  }
}
