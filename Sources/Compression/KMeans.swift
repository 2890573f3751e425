/// One-dimensional k-means (Lloyd 1982) for weight sharing, with linear initialisation over
/// [min, max] — the initialisation Han, Mao & Dally ("Deep Compression", ICLR 2016, §3.2, Fig. 4)
/// found best because it keeps the few large weights, which matter most, as centroids.
public struct KMeansResult: Sendable, Equatable {
  /// k centroids, non-decreasing (linear initialisation and 1-D Lloyd steps keep the order).
  public var centroids: [Float]
  /// Cluster index per input value, in input order.
  public var assignments: [Int32]
  /// Lloyd update steps run.
  public var iterations: Int
}

/// k centroids evenly spaced over [low, high]: c_j = low + (high − low)·j/(k − 1).
public func linearCentroids(low: Float, high: Float, count k: Int) -> [Float] {
  precondition(k >= 1, "linearCentroids: k = \(k)")
  if k == 1 { return [low + (high - low) / 2] }
  return (0..<k).map { low + (high - low) * Float($0) / Float(k - 1) }
}

/// The plain definition: every value goes to its nearest centroid (ties to the lower index), every
/// centroid moves to the mean of its values (an empty cluster keeps its place), until the
/// assignment stops changing or `maxIterations` updates ran. O(n·k) per iteration.
public func kmeansReference(_ values: [Float], clusters k: Int, maxIterations: Int = 30) -> KMeansResult {
  guard let low = values.min(), let high = values.max() else {
    return KMeansResult(centroids: linearCentroids(low: 0, high: 0, count: k), assignments: [], iterations: 0)
  }
  var centroids = linearCentroids(low: low, high: high, count: k)
  func assignAll() -> [Int32] {
    values.map { x in
      var best = 0
      var bestDistance = abs(x - centroids[0])
      for j in 1..<k where abs(x - centroids[j]) < bestDistance {
        best = j
        bestDistance = abs(x - centroids[j])
      }
      return Int32(best)
    }
  }
  var assignments = assignAll()
  var iterations = 0
  while iterations < maxIterations {
    var sums = [Double](repeating: 0, count: k)
    var counts = [Int](repeating: 0, count: k)
    for (x, a) in zip(values, assignments) {
      sums[Int(a)] += Double(x)
      counts[Int(a)] += 1
    }
    for j in 0..<k where counts[j] > 0 { centroids[j] = Float(sums[j] / Double(counts[j])) }
    iterations += 1
    let next = assignAll()
    if next == assignments { break }
    assignments = next
  }
  return KMeansResult(centroids: centroids, assignments: assignments, iterations: iterations)
}

/// The same algorithm on sorted values: in 1-D with sorted centroids every cluster is a contiguous
/// run of the sorted values, so an assignment is k − 1 boundaries, each found by binary search for
/// the midpoint between adjacent centroids (the first value closer to c_{j+1} than to c_j), and a
/// centroid update is a sum over its run. O(n log n) once, then O(k log n + n) per iteration.
public func kmeans(_ values: [Float], clusters k: Int, maxIterations: Int = 30) -> KMeansResult {
  guard let low = values.min(), let high = values.max() else {
    return KMeansResult(centroids: linearCentroids(low: 0, high: 0, count: k), assignments: [], iterations: 0)
  }
  let order = values.indices.sorted { (values[$0], $0) < (values[$1], $1) }
  let sorted = order.map { values[$0] }
  var centroids = linearCentroids(low: low, high: high, count: k)
  // ends[j]: one past the last sorted index of cluster j.
  func boundaries() -> [Int] {
    var ends = [Int](repeating: sorted.count, count: k)
    var previous = 0
    for j in 0..<(k - 1) {
      // Equal centroids: ties go to the lower index, so compare with the next distinct centroid.
      var m = j + 1
      while m < k && centroids[m] == centroids[j] { m += 1 }
      if m == k { break }
      let (a, b) = (centroids[j], centroids[m])
      // Partition point of "closer to c_{j+1}": false below the midpoint, true above.
      var lo = previous
      var hi = sorted.count
      while lo < hi {
        let mid = (lo + hi) / 2
        if abs(sorted[mid] - b) < abs(sorted[mid] - a) { hi = mid } else { lo = mid + 1 }
      }
      ends[j] = lo
      previous = lo
    }
    return ends
  }
  var ends = boundaries()
  var iterations = 0
  while iterations < maxIterations {
    var start = 0
    for j in 0..<k {
      if ends[j] > start {
        var sum = 0.0
        for i in start..<ends[j] { sum += Double(sorted[i]) }
        centroids[j] = Float(sum / Double(ends[j] - start))
      }
      start = ends[j]
    }
    iterations += 1
    let next = boundaries()
    if next == ends { break }
    ends = next
  }
  var assignments = [Int32](repeating: 0, count: values.count)
  var start = 0
  for j in 0..<k {
    for i in start..<ends[j] { assignments[order[i]] = Int32(j) }
    start = ends[j]
  }
  return KMeansResult(centroids: centroids, assignments: assignments, iterations: iterations)
}
