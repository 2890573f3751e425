import ArgumentParser
import Foundation
import PruneKit

/// The sparse rows of `prunekit bench kernels`: SpMM (csr, csc for small m, N:M) against the packed
/// dense GEMM on the same shapes and the same masked weights, each checked against `spmmReference`
/// on sampled rows before it is timed.
struct SparseKernelBench {
  struct Row: Encodable {
    let shape: String
    let pattern: String
    let threads: Int
    /// Milliseconds per call, by kernel ("dense", "csr", "csc", "2:4").
    var milliseconds: [String: Double] = [:]
    var speedup: Double {
      (milliseconds["dense"] ?? 0) / (milliseconds.filter { $0.key != "dense" }.values.min() ?? .infinity)
    }
  }

  let shapes: [BenchShape]
  let patterns: [String]
  let threads: [Int]
  let repeats: Int

  func run() throws -> [Row] {
    var rows: [Row] = []
    for shape in shapes {
      for pattern in patterns {
        let (k, n, m) = (shape.k, shape.n, shape.m)
        var rng = SeededGenerator(seed: 5)
        // Weights stored [n, k] as in PyTorch; a magnitude mask at the pattern.
        var w = (0..<(n * k)).map { _ in rng.nextUniform() * 2 - 1 }
        var kernels: [LinearKernel] = [.csr]
        if m <= 16 { kernels += [.csc, .blocked] }
        if pattern.contains(":"), let kernel = LinearKernel(parsing: pattern),
          case .nm(let keep, let group) = kernel
        {
          guard k % group == 0 else {
            throw ValidationError("\(pattern) needs k (\(k)) divisible by \(group)")
          }
          for j in 0..<n {
            for g in 0..<(k / group) {
              let base = j * k + g * group
              let order = (0..<group).sorted { abs(w[base + $0]) > abs(w[base + $1]) }
              for o in order.dropFirst(keep) { w[base + o] = 0 }
            }
          }
          kernels.append(kernel)
        } else {
          guard let sparsity = Double(pattern), sparsity >= 0, sparsity < 1 else {
            throw ValidationError("sparsity '\(pattern)': expected a fraction in [0, 1) or N:M such as 2:4")
          }
          let threshold = w.map(abs).sorted()[min(w.count - 1, Int(Double(w.count) * sparsity))]
          for i in w.indices where abs(w[i]) < threshold { w[i] = 0 }
        }
        let x = (0..<(m * k)).map { _ -> Float in
          let v = rng.nextUniform() * 2 - 1
          return v < -0.5 ? 0 : v  // a quarter zero, as after a ReLU
        }
        var y = [Float](repeating: 0, count: m * n)
        let packed = w.withUnsafeBufferPointer {
          PackedMatrix(b: $0.baseAddress!, ldb: k, transposed: true, k: k, n: n)
        }
        let matrices = try kernels.map { kernel in
          try w.withUnsafeBufferPointer {
            try SparseMatrix.make(
              b: $0.baseAddress!, ldb: k, transposed: true, k: k, n: n, layout: kernel.layout!)
          }
        }
        for (kernel, matrix) in zip(kernels, matrices) { try check(matrix, kernel, x: x, m: m) }
        for t in threads {
          var row = Row(shape: shape.label, pattern: pattern, threads: t)
          row.milliseconds["dense"] =
            1e3
            * bestSecondsPerCall(repeats: repeats) {
              x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                  gemm(
                    transA: false, m: m, alpha: 1, a: xp.baseAddress!, lda: k, packedB: packed, beta: 0,
                    c: yp.baseAddress!, ldc: n, threads: t)
                }
              }
            }
          for (kernel, matrix) in zip(kernels, matrices) {
            row.milliseconds[kernel.description] =
              1e3
              * bestSecondsPerCall(repeats: repeats) {
                x.withUnsafeBufferPointer { xp in
                  y.withUnsafeMutableBufferPointer { yp in
                    spmm(matrix, m: m, x: xp.baseAddress!, ldx: k, y: yp.baseAddress!, ldy: n, threads: t)
                  }
                }
              }
          }
          rows.append(row)
        }
      }
    }
    return rows
  }

  /// The fast kernel against `spmmReference` on rows 0, m/2, m−1.
  private func check(_ matrix: SparseMatrix, _ kernel: LinearKernel, x: [Float], m: Int) throws {
    var fast = [Float](repeating: 0, count: m * matrix.n)
    var reference = fast
    x.withUnsafeBufferPointer { xp in
      fast.withUnsafeMutableBufferPointer { yp in
        spmm(matrix, m: m, x: xp.baseAddress!, ldx: matrix.k, y: yp.baseAddress!, ldy: matrix.n)
      }
      reference.withUnsafeMutableBufferPointer { yp in
        for i in Set([0, m / 2, m - 1]) {
          spmmReference(
            matrix, m: 1, x: xp.baseAddress! + i * matrix.k, ldx: matrix.k, y: yp.baseAddress! + i * matrix.n,
            ldy: matrix.n)
        }
      }
    }
    for i in Set([0, m / 2, m - 1]) {
      for j in 0..<matrix.n {
        let (a, b) = (fast[i * matrix.n + j], reference[i * matrix.n + j])
        guard abs(a - b) <= 1e-5 * (1 + abs(b)) else {
          throw ValidationError("\(kernel) is wrong at row \(i), output \(j): \(a) vs reference \(b)")
        }
      }
    }
  }

  static func printTable(_ rows: [Row]) {
    print("")
    print(
      "SpMM vs dense GEMM on the same masked weights, ms per call (weights [n, k]; speed-up = dense / best sparse)"
    )
    let kernels = ["dense", "csr", "csc", "blocked", "2:4", "4:8", "1:4"].filter { k in
      rows.contains { $0.milliseconds[k] != nil }
    }
    let table = ReportTable(
      columns: ["shape", "sparsity", "threads"] + kernels + ["speed-up"],
      rows: rows.map { row in
        [row.shape, row.pattern, "\(row.threads)"]
          + kernels.map { k in row.milliseconds[k].map { String(format: "%.3f", $0) } ?? "-" }
          + [String(format: "%.2f×", row.speedup)]
      })
    print(table.text(), terminator: "")
  }
}
