import TensorCoreAVX512

/// A constant s8 weight op(B) [k, n] with one Float32 scale per output column (symmetric per-channel
/// quantization: B̂[p, j] = b[p, j]·scale[j]), packed once for the int8 micro-kernel that will run it:
///
/// | kernel | sliver | layout of one sliver |
/// |---|---|---|
/// | `.avx512` (VNNI) | 32 columns | [⌈k/4⌉][32][4] s8: 4 consecutive k of a column per int32 lane |
/// | `.avx2` | 16 columns | [⌈k/2⌉][16][2] s16: 2 consecutive k of a column per int32 lane |
/// | `.reference` | all | op(B) row-major [k][n] s8 |
///
/// Columns and k past the matrix are zero-padded, so activations past k are multiplied by 0.
/// `columnSums[j]` = Σ_p b[p, j] lets the kernels subtract an activation zero point afterwards.
public struct PackedInt8Matrix: Sendable {
  public let k: Int
  public let n: Int
  public let kernel: KernelKind
  public let scales: [Float]
  public let columnSums: [Int32]
  /// Bytes an activation row must have (k rounded up to the kernel's k step), readable past k.
  public let paddedK: Int
  let sliverColumns: Int
  let bytes: [Int8]
  let words: [Int16]

  /// b: s8 elements, op(B)[p, j] = b[p·ldb + j], or b[j·ldb + p] when `transposed` (B stored [n, k]).
  public init(
    b: UnsafePointer<Int8>, ldb: Int, transposed: Bool, k: Int, n: Int, scales: [Float],
    kernel: KernelKind = CPUFeatures.int8Kernel
  ) {
    precondition(scales.count == n, "PackedInt8Matrix: \(scales.count) scales for \(n) columns")
    let kernel = kernel == .avx512 && !CPUFeatures.hasAVX512VNNI ? .avx2 : kernel
    (self.k, self.n, self.kernel, self.scales) = (k, n, kernel, scales)
    func at(_ p: Int, _ j: Int) -> Int8 { transposed ? b[j * ldb + p] : b[p * ldb + j] }
    var sums = [Int32](repeating: 0, count: n)
    for p in 0..<k { for j in 0..<n { sums[j] += Int32(at(p, j)) } }
    columnSums = sums
    // Slivers of nr columns, each [⌈k/group⌉][nr][group]: `group` consecutive k of a column per lane.
    func slivers<T: Numeric>(nr: Int, group: Int, _: T.Type, _ convert: (Int8) -> T) -> [T] {
      let steps = (k + group - 1) / group
      let count = (n + nr - 1) / nr
      var packed = [T](repeating: 0, count: count * steps * nr * group)
      for s in 0..<count {
        for q in 0..<steps {
          for c in 0..<nr where s * nr + c < n {
            for t in 0..<group where q * group + t < k {
              packed[((s * steps + q) * nr + c) * group + t] = convert(at(q * group + t, s * nr + c))
            }
          }
        }
      }
      return packed
    }
    switch kernel {
    case .avx512:
      bytes = slivers(nr: vnniKernelColumns, group: 4, Int8.self) { $0 }
      (words, sliverColumns, paddedK) = ([], vnniKernelColumns, (k + 3) / 4 * 4)
    case .avx2:
      words = slivers(nr: int8AVX2KernelColumns, group: 2, Int16.self) { Int16($0) }
      (bytes, sliverColumns, paddedK) = ([], int8AVX2KernelColumns, (k + 1) / 2 * 2)
    case .reference:
      var plain = [Int8](repeating: 0, count: k * n)
      for p in 0..<k { for j in 0..<n { plain[p * n + j] = at(p, j) } }
      (bytes, words, sliverColumns, paddedK) = (plain, [], max(n, 1), k)
    }
  }

  /// Bytes the packed weight, scales and column sums occupy.
  public var byteCount: Int { bytes.count + words.count * 2 + scales.count * 4 + columnSums.count * 4 }
}
