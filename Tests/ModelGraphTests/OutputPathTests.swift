import Foundation
import Testing

@testable import ModelGraph

/// Output paths (issue 15): what an atomic write refuses to replace, how its temporary files are
/// named, and their removal by a signal handler.
@Suite struct OutputPathTests {
  struct Case: CustomTestStringConvertible, Sendable {
    var name: String
    var path: String  // relative to a fresh folder holding `afile`, `link` → /dev/null, `fifo`
    var fragment: String?
    var testDescription: String { name }
  }

  static let cases: [Case] = [
    .init(name: "new file", path: "new.onnx", fragment: nil),
    .init(name: "existing regular file", path: "afile", fragment: nil),
    .init(name: "character device", path: "/dev/null", fragment: "is a character device"),
    .init(name: "symlink to a device", path: "link", fragment: "is a symbolic link to a character device"),
    .init(name: "FIFO", path: "fifo", fragment: "is a FIFO"),
    .init(name: "folder", path: "sub", fragment: "is a folder"),
    .init(name: "trailing slash", path: "sub/", fragment: "names a folder"),
    .init(name: "parent is a file", path: "afile/y.pkz", fragment: "afile is a file, not a folder"),
    .init(name: "missing folder", path: "missing/y.pkz", fragment: "missing does not exist"),
  ]

  @Test(arguments: cases)
  func outputPathCheck(_ c: Case) throws {
    let folder = try TemporaryFolder()
    _ = try folder.write("afile", [1, 2, 3])
    try FileManager.default.createSymbolicLink(atPath: folder.path + "/link", withDestinationPath: "/dev/null")
    #expect(mkfifo(folder.path + "/fifo", 0o644) == 0)
    try FileManager.default.createDirectory(atPath: folder.path + "/sub", withIntermediateDirectories: false)
    let path = c.path.hasPrefix("/") ? c.path : folder.path + "/" + c.path
    let problem = OutputPath.problem(path)
    if let fragment = c.fragment {
      #expect(problem?.contains(fragment) == true, "\(String(describing: problem))")
      // The writer refuses it too, and leaves the special file as it was.
      #expect(throws: ModelGraphError.self) { try AtomicFile.write(Data([1]), to: path) }
    } else {
      #expect(problem == nil, "\(String(describing: problem))")
    }
  }

  @Test func sameFileAsAnInputIsRefused() throws {
    let folder = try TemporaryFolder()
    let input = try folder.write("m.onnx", [1])
    try FileManager.default.createSymbolicLink(atPath: folder.path + "/alias.onnx", withDestinationPath: input)
    #expect(OutputPath.problem(folder.path + "/alias.onnx", inputs: [input])?.contains("is the input file") == true)
    #expect(OutputPath.problem(folder.path + "/other.onnx", inputs: [input]) == nil)
  }

  /// What the CLI's SIGINT/SIGTERM handler does while a write is in progress: the temporary file
  /// goes, the write fails, and nothing is left at the destination.
  @Test func removingActiveTemporaryFilesAbortsTheWriteCleanly() throws {
    let folder = try TemporaryFolder()
    var removed: [String] = []
    #expect(throws: ModelGraphError.self) {
      try AtomicFileWriter.write(to: folder.path + "/y.onnx") { sink in
        try [UInt8](repeating: 1, count: 100).withUnsafeBytes { try sink($0) }
        // Only this test's folder: other tests write files in parallel in this process.
        removed = TemporaryFiles.removeActive(inside: folder.path)
      }
    }
    #expect(removed.count == 1 && removed[0].contains("/.y.onnx.prunekit-tmp-\(TemporaryFiles.hostTag)-"), "\(removed)")
    #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
    #expect(!TemporaryFiles.active.contains { $0.hasPrefix(folder.path + "/") })
  }
}
