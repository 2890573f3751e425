import Dispatch

/// Runs `body(i)` for i in 0..<count on the worker threads, and returns when all are done.
///
/// Placeholder: DispatchQueue.concurrentPerform. To be replaced by a spinning pool that does not
/// sleep between kernels (thread wake-up on these VMs costs tens of microseconds).
public final class ThreadPool: @unchecked Sendable {
  public static let shared = ThreadPool(threadCount: ThreadPool.defaultThreadCount)

  /// Number of threads used by kernels (1 = run on the caller only).
  public var threadCount: Int

  public init(threadCount: Int) { self.threadCount = max(1, threadCount) }

  public static var defaultThreadCount: Int {
    if let text = getenvString("PRUNEKIT_THREADS"), let n = Int(text), n > 0 { return n }
    return ProcessInfoCPU.activeProcessorCount
  }

  public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
    if threadCount <= 1 || count <= 1 {
      for i in 0..<count { body(i) }
      return
    }
    withoutActuallyEscaping(body) { escapable in
      let box = UncheckedBody(body: escapable)
      DispatchQueue.concurrentPerform(iterations: count) { box.body($0) }
    }
  }
}

/// The caller of `parallelFor` promises that `body(i)` for different i touch disjoint memory.
private struct UncheckedBody: @unchecked Sendable {
  let body: (Int) -> Void
}

#if canImport(Glibc)
  import Glibc
#endif

func getenvString(_ name: String) -> String? {
  guard let value = getenv(name) else { return nil }
  return String(cString: value)
}

enum ProcessInfoCPU {
  static var activeProcessorCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}
