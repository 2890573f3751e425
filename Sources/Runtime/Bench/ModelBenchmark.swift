import Foundation
import ModelGraph
import TensorCore

/// Latency of any model the executor runs: seeded inputs built from the graph's declared inputs, a
/// warm-up run, then timed runs; used by `prunekit bench MODEL` and `prunekit energy`, so both report
/// the speed of the same kernels.
public enum ModelBenchmark {
  /// Seeded inputs for every graph input that is not an initializer: symbolic dimensions are `batch`
  /// (the first) and `sequence` (the others). Float inputs: N(0, 1) values, or `images` (flat,
  /// repeated as needed) when given. Integer inputs: `*mask*` → 1, `*type*` → 0, others (token ids) in
  /// 1000..<2000 (inside any BERT-style vocabulary).
  public static func inputs(
    for graph: Graph, batch: Int, sequence: Int = 64, seed: UInt64 = 7, images: [Float]? = nil
  ) throws -> [String: Tensor] {
    var rng = SeededGenerator(seed: seed)
    var feeds: [String: Tensor] = [:]
    for info in graph.inputs where graph.initializers[info.name] == nil {
      let dims = info.shape ?? [.symbolic("batch")]
      let shape = dims.enumerated().map { axis, dim -> Int in
        switch dim {
        case .fixed(let n): return n
        case .symbolic: return axis == 0 ? batch : sequence
        }
      }
      let count = shape.reduce(1, *)
      guard count <= 1 << 28 else {
        throw ModelGraphError.invalidModel("input '\(info.name)' of shape \(shape) is too large to benchmark")
      }
      let name = info.name.lowercased()
      switch info.dtype {
      case .int64, .int32:
        let values: [Int64] = (0..<count).map { _ in
          if name.contains("mask") { return 1 }
          if name.contains("type") { return 0 }
          return Int64(1000 + Int(rng.next() % 1000))
        }
        let t = Tensor(shape: shape, int64s: values)
        feeds[info.name] = info.dtype == .int64 ? t : t.converted(to: .int32)
      default:
        var values: [Float]
        if let images, !images.isEmpty {
          values = (0..<count).map { images[$0 % images.count] }
        } else {
          values = (0..<count).map { _ in
            // Box–Muller from two uniforms.
            let u1 = max(rng.nextUniform(), 1e-7)
            let u2 = rng.nextUniform()
            return (-2 * log(u1)).squareRoot() * cos(2 * Float.pi * u2)
          }
        }
        let t = Tensor(shape: shape, floats: values)
        feeds[info.name] = info.dtype == .float32 ? t : t.converted(to: info.dtype)
      }
    }
    return feeds
  }

  /// Seconds of each timed run: one warm-up, then runs until both `minimumRuns` and
  /// `minimumSeconds` are reached (at most `maximumRuns`).
  public static func time(
    _ executor: Executor, _ inputs: [String: Tensor], minimumRuns: Int = 10, minimumSeconds: Double = 0.5,
    maximumRuns: Int = 100_000
  ) throws -> [Double] {
    _ = try executor.run(inputs)
    var times: [Double] = []
    let start = DispatchTime.now().uptimeNanoseconds
    while times.count < maximumRuns {
      let t0 = DispatchTime.now().uptimeNanoseconds
      _ = try executor.run(inputs)
      let t1 = DispatchTime.now().uptimeNanoseconds
      times.append(Double(t1 - t0) / 1e9)
      if times.count >= minimumRuns && Double(t1 - start) / 1e9 >= minimumSeconds { break }
    }
    return times
  }

  /// `time` for several executors on the same inputs, in turns (A, B, A, B …), so that a slow spell
  /// of the machine (other tenants of a VM, frequency changes) falls on all of them alike and their
  /// ratio stays meaningful. Each turn is one untimed warm-up run and `block` timed runs, so that every
  /// executor is timed with its own weights in cache, as when it serves alone (run-by-run alternation
  /// let the dense model's 90 MB evict the sparse one's weights before every run). Returns each
  /// executor's run times, in seconds.
  public static func timeInterleaved(
    _ executors: [Executor], _ inputs: [String: Tensor], minimumRuns: Int = 10, minimumSeconds: Double = 0.5,
    maximumRuns: Int = 100_000, block: Int = 3
  ) throws -> [[Double]] {
    var times = [[Double]](repeating: [], count: executors.count)
    let start = DispatchTime.now().uptimeNanoseconds
    var rounds = 0
    while rounds < maximumRuns {
      for (i, e) in executors.enumerated() {
        _ = try e.run(inputs)
        for _ in 0..<max(1, block) {
          let t0 = DispatchTime.now().uptimeNanoseconds
          _ = try e.run(inputs)
          times[i].append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
      }
      rounds += max(1, block)
      let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
      if rounds >= minimumRuns && elapsed >= minimumSeconds * Double(executors.count) { break }
    }
    return times
  }

  /// Wall time of one run by op type (fused nodes under their own type), in milliseconds: the time
  /// from the previous node's end to this node's end, so graph inputs' checks count to the first op.
  public static func opTimes(_ executor: Executor, _ inputs: [String: Tensor]) throws -> [String: Double] {
    var perOp: [String: Double] = [:]
    var last = DispatchTime.now().uptimeNanoseconds
    _ = try executor.run(inputs) { node, _ in
      let now = DispatchTime.now().uptimeNanoseconds
      perOp[node.opType, default: 0] += Double(now - last) / 1e6
      last = now
    }
    return perOp
  }

  /// The q-quantile (0…1) of `values`, nearest rank.
  public static func percentile(_ values: [Double], _ q: Double) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let rank = Int((q * Double(sorted.count)).rounded(.up)) - 1
    return sorted[min(max(rank, 0), sorted.count - 1)]
  }
}
