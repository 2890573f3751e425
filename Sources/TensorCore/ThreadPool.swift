import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// A small persistent thread pool for kernels: `parallelFor(count) { i in ... }` runs every index once,
/// on the caller plus up to `threadCount - 1` workers, and returns when all are done.
///
/// Workers spin (calling `sched_yield`, so a busy machine loses little) for `spinSeconds` after each job
/// before they sleep on a condition variable: back-to-back small kernels (batch-1 inference) then find
/// them awake. On these VMs a sleeping thread takes tens of microseconds to wake, while a whole small
/// layer takes 5-20 µs (`DispatchQueue.concurrentPerform` measured 0.76× at 5 µs of work per chunk).
///
/// A call made while the pool is busy (re-entrantly from inside a body, or from another thread at the
/// same time) runs serially on its caller: correct, never deadlocks, just not parallel.
public final class ThreadPool: @unchecked Sendable {
  public static let shared = ThreadPool(threadCount: ThreadPool.defaultThreadCount)

  /// Number of threads used by kernels (1 = run on the caller only). Values above the count the pool
  /// was created with are capped to it.
  public var threadCount: Int {
    get { requestedThreads.load(ordering: .relaxed) }
    set { requestedThreads.store(max(1, newValue), ordering: .relaxed) }
  }

  /// How long an idle worker spins before it sleeps, in seconds.
  public static let spinSeconds = 0.002

  private let maxThreads: Int
  private let requestedThreads: Atomic<Int>
  private let busy = Atomic<Bool>(false)
  /// Incremented (release) to publish a job; workers wait for it to change.
  private let generation = Atomic<Int>(0)
  /// Next index to hand out in the current job.
  private let nextIndex = Atomic<Int>(0)
  /// Workers that have finished with the current job (they touch no job state after this).
  private let checkedIn = Atomic<Int>(0)
  /// The current job's body, by address: workers never hold a reference to the closure, so when
  /// they have checked in nothing retains it (`withoutActuallyEscaping` verifies that in debug builds).
  private var job: UnsafePointer<(Int) -> Void>? = nil
  private var jobCount = 0
  private var jobParticipants = 0
  private var startedWorkers = 0
  private let sleepLock = NSCondition()
  private var sleepers = 0

  public init(threadCount: Int) {
    maxThreads = max(1, threadCount)
    requestedThreads = Atomic(maxThreads)
  }

  public static var defaultThreadCount: Int {
    if let text = getenvString("PRUNEKIT_THREADS"), let n = Int(text), n > 0 { return n }
    return ProcessInfoCPU.activeProcessorCount
  }

  /// Runs `body(i)` for every i in 0..<count exactly once, on at most `min(threads, threadCount)`
  /// threads. The caller promises that different i touch disjoint memory.
  public func parallelFor(_ count: Int, threads: Int = .max, _ body: (Int) -> Void) {
    let participants = min(threads, threadCount, maxThreads, count)
    if participants <= 1
      || !busy.compareExchange(expected: false, desired: true, ordering: .acquiring)
        .exchanged
    {
      for i in 0..<count { body(i) }
      return
    }
    defer { busy.store(false, ordering: .releasing) }
    startWorkersIfNeeded()
    withoutActuallyEscaping(body) { escapable in
      withUnsafePointer(to: escapable) { publish($0, count: count, participants: participants) }
    }
  }

  /// Hands `pointer` to the workers, runs items on the caller too, and waits for every worker.
  private func publish(_ pointer: UnsafePointer<(Int) -> Void>, count: Int, participants: Int) {
    job = pointer
    jobCount = count
    jobParticipants = participants
    nextIndex.store(0, ordering: .relaxed)
    checkedIn.store(0, ordering: .relaxed)
    generation.add(1, ordering: .releasing)
    sleepLock.lock()
    if sleepers > 0 { sleepLock.broadcast() }
    sleepLock.unlock()
    runItems(pointer, count: count)
    // Wait until every worker has left the job before `body` stops being valid.
    let workers = startedWorkers
    var spins = 0
    while checkedIn.load(ordering: .acquiring) < workers {
      spins += 1
      if spins > 64 { sched_yield() }
    }
    job = nil
  }

  private func runItems(_ body: UnsafePointer<(Int) -> Void>, count: Int) {
    while true {
      let i = nextIndex.add(1, ordering: .relaxed).oldValue
      if i >= count { return }
      body.pointee(i)
    }
  }

  private func startWorkersIfNeeded() {
    guard startedWorkers == 0, maxThreads > 1 else { return }
    startedWorkers = maxThreads - 1
    for id in 1..<maxThreads {
      let thread = Thread { [unowned self] in self.workerLoop(id: id) }
      thread.name = "prunekit-worker-\(id)"
      thread.start()
    }
  }

  private func workerLoop(id: Int) {
    var seen = 0
    while true {
      seen = waitForJob(after: seen)
      // Acquire pairs with the caller's release of `generation`: job fields are visible.
      if id < jobParticipants, let body = job { runItems(body, count: jobCount) }
      checkedIn.add(1, ordering: .releasing)
    }
  }

  /// Spins, then sleeps, until `generation` moves past `seen`; returns the new generation.
  private func waitForJob(after seen: Int) -> Int {
    let start = monotonicSeconds()
    var spins = 0
    while true {
      let now = generation.load(ordering: .acquiring)
      if now != seen { return now }
      spins += 1
      if spins & 63 == 0 {
        if monotonicSeconds() - start > Self.spinSeconds { break }
        sched_yield()
      }
    }
    sleepLock.lock()
    defer { sleepLock.unlock() }
    while generation.load(ordering: .acquiring) == seen {
      sleepers += 1
      sleepLock.wait()
      sleepers -= 1
    }
    return generation.load(ordering: .acquiring)
  }
}

func monotonicSeconds() -> Double {
  var ts = timespec()
  clock_gettime(CLOCK_MONOTONIC, &ts)
  return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

func getenvString(_ name: String) -> String? {
  guard let value = getenv(name) else { return nil }
  return String(cString: value)
}

enum ProcessInfoCPU {
  static var activeProcessorCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}
