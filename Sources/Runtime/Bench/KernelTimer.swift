import Foundation

/// Best mean time per call over a few batches of calls (each batch ≥ `minimumSeconds`), after one
/// warm-up call: the kernel choice at load (2 ms batches) and `prunekit bench kernels` (20 ms) time
/// with it.
public enum KernelTimer {
  public static func bestSecondsPerCall(
    batches: Int = 3, minimumSeconds: Double = 0.002, _ body: () -> Void
  ) -> Double {
    body()  // warm caches and scratch
    var best = Double.infinity
    for _ in 0..<batches {
      var calls = 0
      let start = DispatchTime.now().uptimeNanoseconds
      var elapsed = 0.0
      repeat {
        body()
        calls += 1
        elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
      } while elapsed < minimumSeconds
      best = min(best, elapsed / Double(calls))
    }
    return best
  }
}
