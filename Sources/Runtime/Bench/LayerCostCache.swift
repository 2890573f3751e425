import Foundation
import ModelGraph
import TensorCore

/// Measured per-layer times of the hardware-aware cost table, kept per CPU model beside the kernel
/// choices (`layer-costs.json` in `KernelChoiceCache`'s folder). A key names the CPU, the GEMM
/// micro-kernel, the threads, the node's op and attributes, its input shape and a fingerprint of its
/// weight values (so a different sparsity pattern is a different entry). A file that cannot be read
/// is ignored and rewritten: the cache only saves time.
public final class LayerCostCache: Sendable {
  public struct Entry: Codable, Sendable, Equatable {
    /// Median seconds per run of the one-node graph.
    public var seconds: Double
    /// Kernel the executor chose ("dense", "csr", …).
    public var kernel: String
    /// Bytes the chosen kernel keeps for the weight.
    public var weightBytes: Int

    public init(seconds: Double, kernel: String, weightBytes: Int) {
      self.seconds = seconds
      self.kernel = kernel
      self.weightBytes = weightBytes
    }
  }

  public static let shared = LayerCostCache(
    path: KernelChoiceCache.defaultPath.map {
      (($0 as NSString).deletingLastPathComponent as NSString).appendingPathComponent("layer-costs.json")
    })

  private let file: JSONFileCache<Entry>
  public var path: String? { file.path }

  public init(path: String?) { file = JSONFileCache(path: path) }

  /// The key of `node` (with its constant inputs in `graph`) run on an input of `inputShape`.
  public static func key(node: Node, in graph: Graph, inputShape: [Int], threads: Int, inputs: String) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a over the constants' bytes
    for name in node.inputs.dropFirst() {
      guard let t = graph.initializers[name] else { continue }
      for byte in t.rawBytes {
        hash ^= UInt64(byte)
        hash &*= 0x100_0000_01b3
      }
      hash ^= UInt64(t.count)
    }
    let attributes = node.attributes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    return "\(KernelChoiceCache.cpuModel)|\(CPUFeatures.kernel)|r\(KernelChoiceCache.timingRevision)|\(threads)T|\(node.opType)(\(attributes))|"
      + "\(inputShape)|\(String(hash, radix: 16))|\(inputs)"
  }

  public func lookup(_ key: String) -> Entry? { file.lookup(key) }

  public func store(_ key: String, _ entry: Entry) { file.store(key, entry) }
}
