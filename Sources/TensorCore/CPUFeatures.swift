import Foundation

/// Which micro-kernel family the dense kernels use.
///
/// | kernel      | needs                          | compiled in                 |
/// |-------------|--------------------------------|-----------------------------|
/// | `.avx512`   | avx512f, avx512bw/dq/vl + OS   | `TensorCoreAVX512` (znver4) |
/// | `.avx2`     | avx2 + fma (the package floor) | `TensorCore` (haswell)      |
/// | `.reference`| nothing                        | the scalar `…Reference`s    |
public enum KernelKind: String, Sendable, CaseIterable {
  case avx512, avx2, reference
}

/// CPU feature detection, done once.
///
/// Why /proc/cpuinfo and not CPUID: Swift has no inline assembly, and a C shim would be a second
/// language for one instruction. The kernel's "flags" line already is CPUID *and* the OS check in one:
/// Linux clears the avx512* flags when XCR0 does not enable the ZMM state (e.g. a hypervisor that
/// hides it), which is exactly the xgetbv test a CPUID-based check would have to add. AT_HWCAP2 on
/// x86 carries no AVX bits, so it cannot help. When /proc/cpuinfo cannot be read we assume only the
/// package floor (AVX2 + FMA, `-target-cpu haswell`), never AVX-512: a wrong "no" costs speed, a wrong
/// "yes" costs SIGILL.
public enum CPUFeatures {
  /// The feature flags of the first processor listed in /proc/cpuinfo (empty when unreadable).
  public static let flags: Set<String> = readCPUInfoFlags()

  public static var hasAVX512: Bool {
    ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains)
  }

  /// AVX-512 with the integer dot product `vpdpbusd` (Ice Lake, Zen 4 and later).
  public static var hasAVX512VNNI: Bool { hasAVX512 && flags.contains("avx512_vnni") }

  /// VNNI and the byte permute `vpermb` (Ice Lake, Zen 4 and later): the sparse int8 kernel.
  public static var hasAVX512VBMI: Bool { hasAVX512VNNI && flags.contains("avx512vbmi") }

  /// The int8 GEMM micro-kernel: `.avx512` is the VNNI one (needs `hasAVX512VNNI`), `.avx2` widens to
  /// int16 and uses `vpmaddwd`. `PRUNEKIT_KERNEL=avx2|reference` asks for a lower one.
  public static let int8Kernel: KernelKind = chooseKernel(
    requested: getenvString("PRUNEKIT_KERNEL"), hasAVX512: hasAVX512VNNI)

  /// The best kernel this CPU runs, unless `PRUNEKIT_KERNEL=avx512|avx2|reference` asks for another.
  /// Asking for `avx512` on a CPU without it falls back to `avx2` (never SIGILL).
  public static let kernel: KernelKind = chooseKernel(
    requested: getenvString("PRUNEKIT_KERNEL"), hasAVX512: hasAVX512)

  static func chooseKernel(requested: String?, hasAVX512: Bool) -> KernelKind {
    let best: KernelKind = hasAVX512 ? .avx512 : .avx2
    guard let requested, let asked = KernelKind(rawValue: requested.lowercased()) else { return best }
    if asked == .avx512 && !hasAVX512 { return .avx2 }
    return asked
  }

  static func readCPUInfoFlags() -> Set<String> {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return [] }
    for line in text.split(separator: "\n") where line.hasPrefix("flags") {
      guard let colon = line.firstIndex(of: ":") else { continue }
      return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }
    return []
  }
}
