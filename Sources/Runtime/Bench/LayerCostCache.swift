import Foundation
import ModelGraph
import Synchronization
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

  public let path: String?
  private let entries: Mutex<[String: Entry]>

  public init(path: String?) {
    self.path = path
    var loaded: [String: Entry] = [:]
    if let path, let data = FileManager.default.contents(atPath: path),
      let decoded = try? JSONDecoder().decode([String: Entry].self, from: data)
    {
      loaded = decoded
    }
    entries = Mutex(loaded)
  }

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
    return "\(KernelChoiceCache.cpuModel)|\(CPUFeatures.kernel)|\(threads)T|\(node.opType)(\(attributes))|"
      + "\(inputShape)|\(String(hash, radix: 16))|\(inputs)"
  }

  public func lookup(_ key: String) -> Entry? { entries.withLock { $0[key] } }

  public func store(_ key: String, _ entry: Entry) {
    let snapshot = entries.withLock { entries -> [String: Entry] in
      entries[key] = entry
      return entries
    }
    guard let path else { return }
    let folder = (path as NSString).deletingLastPathComponent
    try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    if let data = try? encoder.encode(snapshot) { try? AtomicFile.write(data, to: path) }
  }
}
