/// Exact "prune the k lowest" selections used by the layer-wise criteria: ties go to the lower index
/// (a stable ascending sort's first k), found in O(n) by quickselect instead of a sort.

/// Sets `mask[i] = 0` for the k lowest (score, index) pairs of `scores` and 1 elsewhere.
/// `scratch` is reused storage (any contents).
func maskLowest(
  _ scores: UnsafeBufferPointer<Float>, k: Int, into mask: UnsafeMutableBufferPointer<Float>,
  scratch: inout [Float]
) {
  let n = scores.count
  precondition(mask.count == n, "maskLowest: \(n) scores, \(mask.count) mask entries")
  if k <= 0 {
    mask.update(repeating: 1)
    return
  }
  if k >= n {
    mask.update(repeating: 0)
    return
  }
  scratch.removeAll(keepingCapacity: true)
  scratch.append(contentsOf: scores)
  let threshold = scratch.withUnsafeMutableBufferPointer { kthSmallest($0, k - 1) }
  var below = 0
  for s in scores where s < threshold { below += 1 }
  var ties = k - below
  for i in 0..<n {
    let s = scores[i]
    if s < threshold {
      mask[i] = 0
    } else if s == threshold && ties > 0 {
      mask[i] = 0
      ties -= 1
    } else {
      mask[i] = 1
    }
  }
}

/// In every run of `m` consecutive scores, the `pruneCount` lowest (lower index first on ties) get 0.
func maskLowestInGroups(
  _ scores: UnsafeBufferPointer<Float>, m: Int, pruneCount: Int, into mask: UnsafeMutableBufferPointer<Float>
) {
  precondition(scores.count % m == 0, "maskLowestInGroups: \(scores.count) scores, groups of \(m)")
  mask.update(repeating: 1)
  for g in stride(from: 0, to: scores.count, by: m) {
    for _ in 0..<pruneCount {
      var best = -1
      for j in g..<(g + m) where mask[j] != 0 {
        if best < 0 || scores[j] < scores[best] { best = j }
      }
      mask[best] = 0
    }
  }
}

/// The element of rank `k` (0-based) in ascending order; reorders `v`. Hoare selection with a
/// median-of-three pivot.
func kthSmallest(_ v: UnsafeMutableBufferPointer<Float>, _ k: Int) -> Float {
  var lo = 0
  var hi = v.count - 1
  while lo < hi {
    let mid = lo + (hi - lo) / 2
    if v[mid] < v[lo] { v.swapAt(mid, lo) }
    if v[hi] < v[lo] { v.swapAt(hi, lo) }
    if v[hi] < v[mid] { v.swapAt(hi, mid) }
    let pivot = v[mid]
    var i = lo
    var j = hi
    while i <= j {
      while v[i] < pivot { i += 1 }
      while pivot < v[j] { j -= 1 }
      if i <= j {
        v.swapAt(i, j)
        i += 1
        j -= 1
      }
    }
    if k <= j {
      hi = j
    } else if k >= i {
      lo = i
    } else {
      return v[k]
    }
  }
  return v[k]
}
