import Foundation

/// Runs the built `prunekit` executable (beside the test bundle, as `swift build` puts it) and
/// captures its exit status and output.
enum CLI {
  static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().path

  /// `../shared/fixtures/onnx` beside the checkout (CI has it there).
  static let fixtures = packageRoot + "/../shared/fixtures/onnx"

  static let executable: String = {
    let candidates = [
      URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path + "/prunekit",
      Bundle.main.bundleURL.deletingLastPathComponent().path + "/prunekit",
      Bundle.main.bundleURL.path + "/prunekit",
      packageRoot + "/.build/release/prunekit",
      packageRoot + "/.build/debug/prunekit",
    ]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[3]
  }()

  struct Result {
    var status: Int32
    var stdout: String
    var stderr: String
    var output: String { stdout + stderr }
  }

  /// Runs `prunekit arguments…` in `directory`; kills it after `timeout` seconds (a hang is a failure).
  static func run(_ arguments: [String], in directory: String? = nil, timeout: TimeInterval = 120) throws -> Result {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    // Output goes to files, so a chatty child never blocks on a full pipe.
    let base = NSTemporaryDirectory() + "prunekit-cli-out-\(UUID().uuidString)"
    _ = FileManager.default.createFile(atPath: base + ".out", contents: nil)
    _ = FileManager.default.createFile(atPath: base + ".err", contents: nil)
    defer {
      try? FileManager.default.removeItem(atPath: base + ".out")
      try? FileManager.default.removeItem(atPath: base + ".err")
    }
    let out = try FileHandle(forWritingTo: URL(fileURLWithPath: base + ".out"))
    let err = try FileHandle(forWritingTo: URL(fileURLWithPath: base + ".err"))
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { usleep(10_000) }
    var timedOut = false
    if process.isRunning {
      process.terminate()
      timedOut = true
    }
    process.waitUntilExit()
    try out.close()
    try err.close()
    let stdout = (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? ""
    let stderr = (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? ""
    if timedOut { return Result(status: -1, stdout: stdout, stderr: "timed out after \(timeout) s: \(stderr)") }
    return Result(status: process.terminationStatus, stdout: stdout, stderr: stderr)
  }

  /// A fresh empty folder, removed by the caller.
  static func temporaryFolder() throws -> String {
    let path = NSTemporaryDirectory() + "prunekit-cli-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }

  /// Names in `folder` (hidden ones included), sorted.
  static func listing(_ folder: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
  }

  /// The `result` of a `--json` envelope (`{"schema": "prunekit.<command>", "schema_version", "result"}`),
  /// decoded from snake_case after checking the schema names `command`.
  static func jsonResult<T: Decodable>(_ type: T.Type, from stdout: String, command: String) throws -> T {
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    let envelope = try decoder.decode(JSONEnvelope<T>.self, from: Data(stdout.utf8))
    guard envelope.schema == "prunekit.\(command)", envelope.schemaVersion >= 1 else {
      throw CocoaError(.coderReadCorrupt, userInfo: [NSDebugDescriptionErrorKey: "schema \(envelope.schema)"])
    }
    return envelope.result
  }
}

/// The `--json` envelope every subcommand prints.
struct JSONEnvelope<T: Decodable>: Decodable {
  let schema: String
  let schemaVersion: Int
  let result: T
}
