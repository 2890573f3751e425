import Dispatch
import Synchronization
import Testing

@testable import TensorCore

@Suite struct ThreadPoolTests {
  /// Counts how often each index ran.
  final class Hits: @unchecked Sendable {
    let counts: UnsafeMutablePointer<Atomic<Int>>
    let count: Int
    init(_ count: Int) {
      self.count = count
      counts = .allocate(capacity: count)
      for i in 0..<count { (counts + i).initialize(to: Atomic(0)) }
    }
    deinit { counts.deallocate() }
    func hit(_ i: Int) { counts[i].add(1, ordering: .relaxed) }
    var all: [Int] { (0..<count).map { counts[$0].load(ordering: .relaxed) } }
  }

  @Test(arguments: [0, 1, 2, 3, 17, 1000])
  func everyIndexRunsExactlyOnce(count: Int) {
    let pool = ThreadPool(threadCount: 2)
    for _ in 0..<50 {
      let hits = Hits(count)
      pool.parallelFor(count) { hits.hit($0) }
      #expect(hits.all == Array(repeating: 1, count: count))
    }
  }

  @Test func manyBackToBackJobsOnMoreThreadsThanCores() {
    let pool = ThreadPool(threadCount: 4)
    let hits = Hits(64)
    for _ in 0..<2000 { pool.parallelFor(64) { hits.hit($0) } }
    #expect(hits.all == Array(repeating: 2000, count: 64))
  }

  @Test func reentrantCallsRunSeriallyAndCompletely() {
    let pool = ThreadPool(threadCount: 2)
    let hits = Hits(8 * 8)
    pool.parallelFor(8) { i in
      pool.parallelFor(8) { j in hits.hit(i * 8 + j) }
    }
    #expect(hits.all == Array(repeating: 1, count: 64))
  }

  @Test func concurrentCallersFromSeveralThreads() {
    let pool = ThreadPool(threadCount: 2)
    let hits = Hits(4 * 100)
    DispatchQueue.concurrentPerform(iterations: 4) { caller in
      for _ in 0..<20 { pool.parallelFor(100) { hits.hit(caller * 100 + $0) } }
    }
    #expect(hits.all == Array(repeating: 20, count: 400))
  }

  @Test func threadLimitOfOneRunsOnTheCaller() {
    let pool = ThreadPool(threadCount: 2)
    let hits = Hits(10)
    pool.parallelFor(10, threads: 1) { hits.hit($0) }
    #expect(hits.all == Array(repeating: 1, count: 10))
  }
}
