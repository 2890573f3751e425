import Foundation
import PruneKit
import Testing

/// Issue 15 end to end: the built `prunekit` run on hostile options, files and output paths. Every
/// case must end with a clear message (exit status 1 or 64, never a crash or a hang), name the file
/// or option, and leave nothing at the destination.
@Suite(.serialized) struct HostileCLITests {
  /// The files the cases refer to, made once per test in a fresh folder.
  final class Workspace {
    let path: String
    init() throws {
      path = try CLI.temporaryFolder()
      let fm = FileManager.default
      try fm.copyItem(atPath: CLI.fixtures + "/mlp.onnx", toPath: path + "/mlp.onnx")
      try Data("not a folder".utf8).write(to: URL(fileURLWithPath: path + "/afile"))
      try fm.createSymbolicLink(atPath: path + "/devlink.onnx", withDestinationPath: "/dev/null")
      #expect(mkfifo(path + "/fifo.onnx", 0o644) == 0)
      // The MLP with its second weight stored transposed: [300, 100] where Gemm (transB) needs [100, 300].
      var swapped = try ModelFile.load(path + "/mlp.onnx")
      let name = swapped.initializers.first { $0.value.shape == [100, 300] }!.key
      swapped.initializers[name] = try swapped.initializers[name]!.reshaped([300, 100])
      try ONNXExporter.save(swapped, to: path + "/swapped.onnx")
      // The MLP with an op nobody knows at its end.
      var unknown = try ModelFile.load(path + "/mlp.onnx")
      let last = unknown.outputs[0].name
      unknown.nodes.append(Node(name: "mystery", opType: "Frobnicate", inputs: [last], outputs: ["z"]))
      unknown.outputs = [ValueInfo(name: "z", dtype: .float32, shape: nil)]
      try ONNXExporter.save(unknown, to: path + "/unknown.onnx")
      // safetensors whose header claims 2^62 elements.
      let header = Array(#"{"input":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,4]}}"#.utf8)
      let st = withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) } + header + [0, 0, 0, 0]
      try Data(st).write(to: URL(fileURLWithPath: path + "/huge.safetensors"))
      try Data((0..<200).map { UInt8($0) }).write(to: URL(fileURLWithPath: path + "/bad.pkz"))
      // MNIST-named IDX folders: no images; every dim 0xFFFFFFFF.
      try idxFolder("empty", images: [0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28], labels: [0, 0, 8, 1, 0, 0, 0, 0])
      try idxFolder(
        "ffff", images: [0, 0, 8, 3] + [UInt8](repeating: 0xFF, count: 12) + [1, 2, 3], labels: [0, 0, 8, 1, 0, 0, 0, 1, 5])
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    func idxFolder(_ name: String, images: [UInt8], labels: [UInt8]) throws {
      let dir = path + "/" + name
      try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
      for split in ["train", "t10k"] {
        try Data(images).write(to: URL(fileURLWithPath: "\(dir)/\(split)-images-idx3-ubyte"))
        try Data(labels).write(to: URL(fileURLWithPath: "\(dir)/\(split)-labels-idx1-ubyte"))
      }
    }
  }

  struct Case: CustomTestStringConvertible, Sendable {
    var arguments: [String]
    var fragments: [String]
    /// A file (relative to the workspace) that must not exist afterwards.
    var noOutput: String? = nil
    var testDescription: String { arguments.joined(separator: " ") }
  }

  static let cases: [Case] = [
    // Negative values are read as values, then refused as out of range.
    .init(arguments: ["prune", "mlp.onnx", "--sparsity", "-0.1", "-o", "p.onnx"],
      fragments: ["--sparsity -0.1: expected a finite number in [0, 1)"], noOutput: "p.onnx"),
    .init(arguments: ["prune", "mlp.onnx", "--sparsity", "nan", "-o", "p.onnx"], fragments: ["--sparsity nan"]),
    .init(arguments: ["train", "lenet300", "--lr", "nan", "-o", "t.onnx"], fragments: ["--lr nan"], noOutput: "t.onnx"),
    .init(arguments: ["train", "lenet300", "--lr", "inf", "-o", "t.onnx"], fragments: ["--lr inf"]),
    .init(arguments: ["train", "lenet300", "--limit=-5", "-o", "t.onnx"], fragments: ["--limit -5"]),
    .init(arguments: ["train", "lenet300", "--limit", "-5", "-o", "t.onnx"], fragments: ["--limit -5"]),
    .init(arguments: ["train", "lenet300", "--batch", "9223372036854775807", "-o", "t.onnx"],
      fragments: ["--batch 9223372036854775807: expected an integer in 1...65536"]),
    .init(arguments: ["train", "lenet300", "--epochs", "0", "-o", "t.onnx"], fragments: ["--epochs 0"]),
    .init(arguments: ["energy", "mlp.onnx", "--min-seconds", "nan"], fragments: ["--min-seconds nan"]),
    .init(arguments: ["energy", "mlp.onnx", "--min-seconds", "inf"], fragments: ["--min-seconds inf"]),
    .init(arguments: ["energy", "mlp.onnx", "--min-seconds", "-1"], fragments: ["--min-seconds -1.0"]),
    .init(arguments: ["energy", "mlp.onnx", "--pue", "nan"], fragments: ["--pue nan"]),
    .init(arguments: ["energy", "mlp.onnx", "--batch", "9223372036854775807"], fragments: ["--batch 9223372036854775807"]),
    .init(arguments: ["energy", "mlp.onnx", "--sequence", "4611686018427387904"], fragments: ["--sequence 4611686018427387904"]),
    .init(arguments: ["inspect", "mlp.onnx", "--batch", "9223372036854775807"], fragments: ["--batch 9223372036854775807"]),
    .init(arguments: ["inspect", "mlp.onnx", "--dim", "sequence=4611686018427387904"],
      fragments: ["--dim sequence=4611686018427387904: expected a size in 1...1048576"]),
    .init(arguments: ["compress", "mlp.onnx", "--min-elements", "-1", "-o", "c.pkz"], fragments: ["--min-elements -1"]),
    // Output paths, checked before any work.
    .init(arguments: ["compress", "mlp.onnx", "-o", "y.onnx"], fragments: ["-o y.onnx: expected a .pkz file name", "prunekit decompress"],
      noOutput: "y.onnx"),
    .init(arguments: ["convert", "mlp.onnx", "-o", "mlp.onnx"], fragments: ["is the input file"]),
    .init(arguments: ["convert", "mlp.onnx", "-o", "/dev/null"], fragments: ["is a character device"]),
    .init(arguments: ["convert", "mlp.onnx", "-o", "fifo.onnx"], fragments: ["is a FIFO"]),
    .init(arguments: ["convert", "mlp.onnx", "-o", "devlink.onnx"], fragments: ["symbolic link to a character device"]),
    .init(arguments: ["convert", "mlp.onnx", "-o", "afile/y.onnx"], fragments: ["afile is a file, not a folder"]),
    .init(arguments: ["convert", "mlp.onnx", "-o", "nowhere/y.onnx"], fragments: ["folder nowhere does not exist"]),
    .init(arguments: ["train", "lenet300", "--epochs", "1", "--limit", "64", "-o", "afile/t.onnx"],
      fragments: ["afile is a file, not a folder"]),
    .init(arguments: ["run", "mlp.onnx", "--input", "huge.safetensors", "-o", "huge.safetensors"], fragments: ["is the input file"]),
    // Files that contradict themselves.
    .init(arguments: ["inspect", "swapped.onnx"], fragments: ["swapped.onnx", "K = 300", "[300, 100]"]),
    .init(arguments: ["prune", "swapped.onnx", "-o", "p.onnx"], fragments: ["swapped.onnx", "K = 300"], noOutput: "p.onnx"),
    .init(arguments: ["compress", "swapped.onnx", "-o", "s.pkz"], fragments: ["swapped.onnx", "K = 300"], noOutput: "s.pkz"),
    .init(arguments: ["convert", "swapped.onnx", "-o", "s.onnx"], fragments: ["swapped.onnx", "K = 300"], noOutput: "s.onnx"),
    .init(arguments: ["inspect", "unknown.onnx"], fragments: ["unknown.onnx", "op Frobnicate"]),
    .init(arguments: ["run", "mlp.onnx", "--input", "huge.safetensors", "-o", "o.safetensors"],
      fragments: ["huge.safetensors", "tensor 'input' shape: expected a size that fits in memory"], noOutput: "o.safetensors"),
    .init(arguments: ["decompress", "bad.pkz", "-o", "d.onnx"], fragments: ["bad.pkz", "not a .pkz file"], noOutput: "d.onnx"),
    .init(arguments: ["inspect", "bad.pkz"], fragments: ["bad.pkz: pkz section 'header'"]),
    // A FIFO as input blocked forever.
    .init(arguments: ["inspect", "fifo.onnx"], fragments: ["fifo.onnx: cannot read (a FIFO (named pipe), not a regular file)"]),
    // Data: no images (once an endless loop), dims that overflow.
    .init(arguments: ["train", "lenet300", "--data", "empty", "--epochs", "100000", "-o", "t.onnx"],
      fragments: ["empty/train-images-idx3-ubyte", "at least one image"], noOutput: "t.onnx"),
    .init(arguments: ["train", "lenet300", "--data", "ffff", "-o", "t.onnx"],
      fragments: ["ffff/train-images-idx3-ubyte", "dimensions whose data fits in the file"]),
  ]

  @Test(arguments: cases)
  func refusedWithAClearMessage(_ c: Case) throws {
    let workspace = try Workspace()
    let result = try CLI.run(c.arguments, in: workspace.path)
    #expect(result.status == 1 || result.status == 64, "status \(result.status): \(result.output)")
    for fragment in c.fragments {
      #expect(result.stderr.contains(fragment), "missing '\(fragment)' in: \(result.output)")
    }
    #expect(!result.output.contains("Fatal error"))
    if let file = c.noOutput { #expect(!FileManager.default.fileExists(atPath: workspace.path + "/" + file)) }
    #expect(!CLI.listing(workspace.path).contains { $0.contains(".tmp-") }, "temporary file left behind")
  }

  /// compress and convert carry an unknown op through, with a warning naming it.
  @Test func unknownOpIsAWarningWhenCopying() throws {
    let workspace = try Workspace()
    let result = try CLI.run(["convert", "unknown.onnx", "-o", "u2.onnx"], in: workspace.path)
    #expect(result.status == 0, "\(result.output)")
    #expect(result.stderr.contains("warning: ") && result.stderr.contains("Frobnicate"), "\(result.output)")
    let copy = try ModelFile.load(workspace.path + "/u2.onnx")
    #expect(copy.nodes.last?.opType == "Frobnicate")
    let compressed = try CLI.run(["compress", "unknown.onnx", "-o", "u.pkz"], in: workspace.path)
    #expect(compressed.status == 0 && compressed.stderr.contains("Frobnicate"), "\(compressed.output)")
  }

  /// Leftovers of killed runs (this host, writer gone; and the old naming, over an hour old) are
  /// removed by the next write to the same destination; a live writer's file is left alone.
  @Test func leftoverTemporaryFilesAreRemovedByTheNextWrite() throws {
    let workspace = try Workspace()
    let gone = Process()
    gone.executableURL = URL(fileURLWithPath: "/bin/true")
    try gone.run()
    gone.waitUntilExit()
    let host = TemporaryFiles.hostTag
    let dead = ".out.onnx.prunekit-tmp-\(host)-\(gone.processIdentifier)-Ab12Cd"
    let live = ".out.onnx.prunekit-tmp-\(host)-1-Xy34Zw"  // pid 1 is always running
    let legacy = ".out.onnx.tmp-Qw56Er"
    for name in [dead, live, legacy] {
      try Data(count: 1000).write(to: URL(fileURLWithPath: workspace.path + "/" + name))
    }
    let old = Date().addingTimeInterval(-2 * TemporaryFiles.legacyAge)
    try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: workspace.path + "/" + legacy)
    let result = try CLI.run(["convert", "mlp.onnx", "-o", "out.onnx"], in: workspace.path)
    #expect(result.status == 0, "\(result.output)")
    let names = CLI.listing(workspace.path)
    #expect(names.contains("out.onnx") && names.contains(live))
    #expect(!names.contains(dead) && !names.contains(legacy), "\(names)")
  }
}
