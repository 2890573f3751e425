import ArgumentParser
import Foundation
import PruneKit

/// `prunekit bench kernels`: GEMM GFLOP/s of PruneKit (AVX-512 and AVX2 kernels, 1 and 2 threads)
/// next to numpy/OpenBLAS measured in the same run by `scripts/bench_numpy_gemm.py`.
struct BenchKernelsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "kernels",
    abstract: "GEMM GFLOP/s of PruneKit vs numpy/OpenBLAS (1 and 2 threads).",
    usage: "prunekit bench kernels [--sizes <sizes>] [--repeats <n>] [--json] [<options>]",
    discussion: """
      A size N is the square product N×N×N (C = A·B). A size MxKxN is a linear layer, \
      C[M,N] = X[M,K]·W[N,K]ᵀ (weights stored [out, in] as in PyTorch). Every variant is checked \
      against gemmReference on sampled rows before it is timed. Timing: each repeat runs a batch of \
      calls lasting at least 20 ms; the best batch's mean time per call is reported.

      Examples:
        prunekit bench kernels
        prunekit bench kernels --sizes 1024,128x384x1536 --repeats 10 --json
      """)

  static let defaultSizes = "256,512,1024,2048,1x784x300,128x784x300,128x384x1536,128x1536x384,4096x384x384"

  @Option(
    help: """
      Comma-separated sizes: N (square) or MxKxN (linear layer). Default: 256, 512, 1024, 2048 and the \
      LeNet/BERT shapes 1x784x300, 128x784x300, 128x384x1536, 128x1536x384, 4096x384x384.
      """)
  var sizes: String?

  @Option(help: "Timed batches per variant; the best is kept.")
  var repeats = 5

  @OptionGroup var format: JSONOption
  var json: Bool { format.json }

  @Option(help: "Linear-layer shapes MxKxN for the sparse table (empty: skip it).")
  var sparseSizes = "1x784x300,64x784x300,2048x384x1536,2048x1536x384"

  @Option(help: "Sparsities (fractions of zeros, magnitude masks) and N:M patterns for the sparse table.")
  var sparsities = "0.5,0.7,0.9,0.95,2:4"

  @Option(help: "Thread counts for the sparse table.")
  var sparseThreads = "1,2"

  @Option(help: "Linear-layer shapes MxKxN for the int8 table (empty: skip it).")
  var int8Sizes = "64x384x384,2048x384x384,2048x384x1536,2048x1536x384"

  @Option(help: "Fraction of zero weights (independent, seeded) in the int8 table's sparse-int8 column.")
  var int8Sparsity = 0.7

  func validate() throws {
    try OptionCheck.int(repeats, "--repeats", in: 1...10_000)
    try OptionCheck.number(int8Sparsity, "--int8-sparsity", in: 0...1)
  }

  func run() throws {
    let shapes = try (sizes ?? Self.defaultSizes).split(separator: ",").map { try BenchShape(parsing: String($0)) }
    let peer = NumpyPeer.locate()
    var rows: [BenchRow] = []
    for shape in shapes {
      var row = BenchRow(shape: shape.label, m: shape.m, k: shape.k, n: shape.n)
      let problem = GEMMProblem(shape)
      for variant in GEMMVariant.all {
        let error = problem.sampledError(variant)
        guard error <= problem.tolerance else {
          throw ValidationError(
            "\(variant.name) is wrong on \(shape.label): error \(error) > \(problem.tolerance)")
        }
        row.gflops[variant.name] = problem.gflops(
          seconds: bestSecondsPerCall(repeats: repeats) {
            problem.run(variant)
          })
      }
      rows.append(row)
    }
    var int8Rows: [Int8KernelBench.Row] = []
    if !int8Sizes.isEmpty {
      int8Rows = try Int8KernelBench(
        shapes: int8Sizes.split(separator: ",").map { try BenchShape(parsing: String($0)) }, threads: [1, 2],
        repeats: repeats, sparsity: int8Sparsity
      ).run()
    }
    var sparseRows: [SparseKernelBench.Row] = []
    if !sparseSizes.isEmpty {
      let threadCounts = try sparseThreads.split(separator: ",").map { text -> Int in
        guard let t = Int(text), t >= 1, t <= 1024 else {
          throw ValidationError("--sparse-threads '\(text)': expected an integer in 1...1024")
        }
        return t
      }
      sparseRows = try SparseKernelBench(
        shapes: sparseSizes.split(separator: ",").map { try BenchShape(parsing: String($0)) }.filter(
          \.transB),
        patterns: sparsities.split(separator: ",").map(String.init), threads: threadCounts, repeats: repeats
      ).run()
    }
    var peerNote = "numpy: not available (python3 -c 'import numpy' failed); column skipped"
    if let peer {
      for threads in [1, 2] {
        let result = try peer.measure(shapes: shapes, threads: threads, repeats: repeats)
        for (index, gflops) in result.gflops.enumerated() { rows[index].gflops["numpy-\(threads)T"] = gflops }
        peerNote = "numpy \(result.version), OpenBLAS: \(result.blas)"
      }
    }
    if json {
      struct Output: Encodable {
        let gemm: [BenchRow]
        let sparse: [SparseKernelBench.Row]
        let int8: [Int8KernelBench.Row]
      }
      try JSONOutput.print(Output(gemm: rows, sparse: sparseRows, int8: int8Rows), command: "bench.kernels")
    } else {
      printTable(rows, note: peerNote)
      if !sparseRows.isEmpty { SparseKernelBench.printTable(sparseRows) }
      if !int8Rows.isEmpty { Int8KernelBench.printTable(int8Rows, sparsity: int8Sparsity) }
    }
  }

  func printTable(_ rows: [BenchRow], note: String) {
    let columns = GEMMVariant.all.map(\.name) + ["numpy-1T", "numpy-2T"]
    print("GEMM GFLOP/s, best of \(repeats) (kernel chosen at start-up: \(CPUFeatures.kernel))")
    print(note)
    let table = ReportTable(
      columns: ["shape"] + columns + ["ratio-1T", "ratio-2T"],
      rows: rows.map { row in
        [row.shape] + columns.map { c in row.gflops[c].map { String(format: "%.1f", $0) } ?? "-" }
          + [1, 2].map { t in
            let ratio = row.gflops["avx512-\(t)T"].flatMap { ours in row.gflops["numpy-\(t)T"].map { ours / $0 } }
            return ratio.map { String(format: "%.2f×", $0) } ?? "-"
          }
      })
    print(table.text(), terminator: "")
  }
}

/// One benchmark shape: square (C = A·B) or linear layer (C = X·Wᵀ).
struct BenchShape {
  let m: Int, k: Int, n: Int
  let transB: Bool
  var label: String { transB ? "\(m)x\(k)x\(n)" : "\(m)³" }

  init(parsing text: String) throws {
    let parts = text.split(separator: "x").compactMap { Int($0) }
    if parts.count == 1 && parts[0] > 0 {
      (m, k, n, transB) = (parts[0], parts[0], parts[0], false)
    } else if parts.count == 3 && parts.allSatisfy({ $0 > 0 }) {
      (m, k, n, transB) = (parts[0], parts[1], parts[2], true)
    } else {
      throw ValidationError("size '\(text)': expected N or MxKxN with positive integers")
    }
  }
}

/// A PruneKit GEMM configuration that the benchmark times.
struct GEMMVariant {
  let name: String
  let kernel: KernelKind
  let threads: Int

  static let all = [
    GEMMVariant(name: "avx512-1T", kernel: .avx512, threads: 1),  // 8×32 zmm tile, caller only
    GEMMVariant(name: "avx512-2T", kernel: .avx512, threads: 2),  // same, C split over 2 threads
    GEMMVariant(name: "avx2-1T", kernel: .avx2, threads: 1),  // 6×16 ymm fallback tile
    GEMMVariant(name: "avx2-2T", kernel: .avx2, threads: 2),
  ]
}

/// Seeded inputs and output of one benchmark shape.
final class GEMMProblem {
  let shape: BenchShape
  let a: [Float]
  let b: [Float]
  var c: [Float]

  init(_ shape: BenchShape) {
    self.shape = shape
    var rng = SeededGenerator(seed: 42)
    a = (0..<shape.m * shape.k).map { _ in rng.nextUniform() * 2 - 1 }
    b = (0..<shape.k * shape.n).map { _ in rng.nextUniform() * 2 - 1 }
    c = Array(repeating: 0, count: shape.m * shape.n)
  }

  var ldb: Int { shape.transB ? shape.k : shape.n }
  /// Same bound as the unit tests: rounding order only, linear in k.
  var tolerance: Float { 1e-6 * Float(shape.k) + 1e-6 }

  func gflops(seconds: Double) -> Double { 2 * Double(shape.m * shape.n * shape.k) / seconds / 1e9 }

  func run(_ v: GEMMVariant) {
    let s = shape
    c.withUnsafeMutableBufferPointer { c in
      gemm(
        transA: false, transB: s.transB, m: s.m, n: s.n, k: s.k, alpha: 1, a: a, lda: s.k, b: b,
        ldb: ldb, beta: 0, c: c.baseAddress!, ldc: s.n, threads: v.threads, kernel: v.kernel)
    }
  }

  /// Runs the variant, then compares rows 0, m/2 and m−1 of C with gemmReference.
  func sampledError(_ v: GEMMVariant) -> Float {
    run(v)
    let s = shape
    var worst: Float = 0
    var row = [Float](repeating: 0, count: s.n)
    for i in Set([0, s.m / 2, s.m - 1]) {
      a.withUnsafeBufferPointer { a in
        row.withUnsafeMutableBufferPointer { r in
          gemmReference(
            transA: false, transB: s.transB, m: 1, n: s.n, k: s.k, alpha: 1, a: a.baseAddress! + i * s.k,
            lda: s.k, b: b, ldb: ldb, beta: 0, c: r.baseAddress!, ldc: s.n)
        }
      }
      for j in 0..<s.n { worst = max(worst, abs(row[j] - c[i * s.n + j])) }
    }
    return worst
  }
}

struct BenchRow: Encodable {
  let shape: String
  let m: Int, k: Int, n: Int
  var gflops: [String: Double] = [:]
}

/// Best mean seconds per call over `repeats` batches, each batch lasting at least 20 ms.
func bestSecondsPerCall(repeats: Int, _ body: () -> Void) -> Double {
  KernelTimer.bestSecondsPerCall(batches: max(1, repeats), minimumSeconds: 0.02, body)
}

/// numpy/OpenBLAS timed by `scripts/bench_numpy_gemm.py` in a subprocess.
struct NumpyPeer {
  let script: String

  /// The script beside the working directory or the package sources, when python3 has numpy.
  static func locate() -> NumpyPeer? {
    let candidates = [
      FileManager.default.currentDirectoryPath + "/scripts/bench_numpy_gemm.py",
      URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/bench_numpy_gemm.py").path,
    ]
    guard let script = candidates.first(where: FileManager.default.fileExists(atPath:)) else {
      return nil
    }
    guard (try? runPython(["-c", "import numpy"], threads: 1)) != nil else { return nil }
    return NumpyPeer(script: script)
  }

  struct Result {
    let version: String
    let blas: String
    let gflops: [Double]
  }

  func measure(shapes: [BenchShape], threads: Int, repeats: Int) throws -> Result {
    let spec = shapes.map { "\($0.m),\($0.k),\($0.n),0,\($0.transB ? 1 : 0)" }.joined(separator: ";")
    let output = try NumpyPeer.runPython(
      [script, "--threads", "\(threads)", "--repeats", "\(repeats)", "--shapes", spec], threads: threads)
    struct Reply: Decodable {
      struct Item: Decodable { let gflops: Double }
      struct Blas: Decodable { let version: String?; let architecture: String? }
      let numpy: String
      let blas: [Blas]?
      let results: [Item]
    }
    let reply = try JSONDecoder().decode(Reply.self, from: output)
    let blas =
      reply.blas?.map { "\($0.version ?? "?") kernel \($0.architecture ?? "?")" }.joined(separator: ", ")
      ?? "kernel unknown (pip install threadpoolctl to see it)"
    return Result(version: reply.numpy, blas: blas, gflops: reply.results.map(\.gflops))
  }

  /// Runs python3 with OpenBLAS left to choose its own kernel (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE
  /// removed, in this subprocess only) and `threads` threads; returns stdout.
  static func runPython(_ arguments: [String], threads: Int) throws -> Data {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3"] + arguments
    var environment = ProcessInfo.processInfo.environment
    environment["OPENBLAS_CORETYPE"] = nil
    environment["OPENBLAS_L2_SIZE"] = nil
    for name in ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"] {
      environment[name] = "\(threads)"
    }
    process.environment = environment
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      throw ValidationError("python3 \(arguments.first ?? "") exited with \(process.terminationStatus)")
    }
    return data
  }
}

extension JSONEncoder {
  static var pretty: JSONEncoder {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    return encoder
  }
}
