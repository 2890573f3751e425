import Foundation
import Testing

@testable import PruneKit

/// The sweep's pure parts: the spec hash, cell index ↔ grid point, status detection, job options.
@Suite struct SweepTests {
  static func spec(
    methods: [String] = ["magnitude", "random"], sparsities: [Double] = [0.5, 0.7, 0.9],
    patterns: [String] = ["unstructured"]
  ) -> SweepSpec {
    SweepSpec(
      model: "mlp.onnx", methods: methods, sparsities: sparsities, patterns: patterns,
      evaluation: .init(data: "Data/mnist", limit: 100))
  }

  /// A fresh folder, removed by the caller.
  static func folder() throws -> String {
    let path = NSTemporaryDirectory() + "prunekit-sweep-test-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }

  // MARK: - Hash

  /// FIPS 180-2 appendix B test vectors, plus the empty string and a multi-block message.
  @Test(arguments: [
    ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    (
      "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    ),
    (String(repeating: "a", count: 1000), "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"),
  ])
  func sha256MatchesTheStandardsVectors(_ input: String, _ expected: String) {
    #expect(SHA256.hex(Data(input.utf8)) == expected)
  }

  @Test func specHashIsStableAndChangesWithEveryField() throws {
    let base = Self.spec()
    #expect(try base.hash() == Self.spec().hash())
    #expect(try base.hash().count == 64)
    var variants: [SweepSpec] = []
    var s = base
    s.model = "other.onnx"; variants.append(s)
    s = base; s.methods = ["random", "magnitude"]; variants.append(s)
    s = base; s.sparsities = [0.5, 0.7]; variants.append(s)
    s = base; s.patterns = ["unstructured", "2:4"]; variants.append(s)
    s = base; s.scope = "global"; variants.append(s)
    s = base; s.seed = 2; variants.append(s)
    s = base; s.evaluation.limit = 101; variants.append(s)
    s = base; s.trainData = "Data/mnist"; s.finetune = .init(epochs: 1, learningRate: 0.01); variants.append(s)
    let hashes = try Set(variants.map { try $0.hash() } + [base.hash()])
    #expect(hashes.count == variants.count + 1)
    for v in variants { #expect(!v.differences(from: base).isEmpty) }
  }

  // MARK: - Grid

  /// cell → point → cell is the identity, every point is distinct, and the layout is the documented one.
  @Test(arguments: [
    (["magnitude"], [0.5], ["unstructured"]),
    (["magnitude", "random"], [0.5, 0.7, 0.9], ["unstructured"]),
    (["magnitude", "random", "taylor"], [0.3, 0.9], ["unstructured", "2:4", "4x4"]),
    (["random"], [], ["2:4", "1:8"]),
  ])
  func cellIndexAndGridPointRoundTrip(_ methods: [String], _ sparsities: [Double], _ patterns: [String]) throws {
    let spec = Self.spec(methods: methods, sparsities: sparsities, patterns: patterns)
    let perMethod = patterns.reduce(0) { $0 + (SparsityPattern(argument: $1).map { if case .nOfM = $0 { 1 } else { sparsities.count } } ?? sparsities.count) }
    #expect(spec.cellCount == methods.count * perMethod)
    var seen: [SweepPoint] = []
    for cell in 0..<spec.cellCount {
      let point = try spec.point(ofCell: cell)
      #expect(spec.cell(of: point) == cell)
      #expect(!seen.contains(point))
      #expect(point.method == methods[cell / perMethod])
      seen.append(point)
    }
    #expect(throws: SweepError.cellOutOfRange(cell: spec.cellCount, cellCount: spec.cellCount)) {
      try spec.point(ofCell: spec.cellCount)
    }
    #expect(throws: SweepError.self) { try spec.point(ofCell: -1) }
    #expect(spec.cell(of: SweepPoint(method: "wanda", pattern: "unstructured", sparsity: 0.5)) == nil)
  }

  @Test func documentedExampleCell() throws {
    let spec = Self.spec(sparsities: [0.5, 0.9], patterns: ["unstructured", "2:4"])
    #expect(spec.cellCount == 6)
    #expect(try spec.point(ofCell: 4) == SweepPoint(method: "random", pattern: "unstructured", sparsity: 0.9))
    #expect(try spec.point(ofCell: 2) == SweepPoint(method: "magnitude", pattern: "2:4", sparsity: 0.5))
  }

  @Test func badSpecsAreRefusedNamingTheOption() {
    func refused(_ spec: SweepSpec, _ fragment: String) {
      do {
        try spec.validate()
        Issue.record("accepted: \(spec)")
      } catch {
        #expect("\(error)".contains(fragment), "\(error)")
      }
    }
    refused(Self.spec(methods: []), "--methods")
    refused(Self.spec(methods: ["nope"]), "--methods nope")
    refused(Self.spec(methods: ["wanda"]), "calibration")
    refused(Self.spec(methods: ["taylor"]), "--train-data")
    refused(Self.spec(methods: ["magnitude", "magnitude"]), "twice")
    refused(Self.spec(sparsities: [1.0]), "--sparsities")
    refused(Self.spec(sparsities: [.nan]), "--sparsities")
    refused(Self.spec(sparsities: []), "--sparsities")
    refused(Self.spec(patterns: ["3:2"]), "--patterns 3:2")
    refused(Self.spec(patterns: ["diagonal"]), "--patterns diagonal")
    var s = Self.spec()
    s.finetune = .init(epochs: 1, learningRate: 0.01)
    refused(s, "--train-data")
    s = Self.spec()
    s.evaluation.split = "train"
    refused(s, "--eval-split")
  }

  // MARK: - Folder and status

  /// A minimal finished record for `cell` of `file`'s sweep.
  static func record(_ file: SweepFile, cell: Int, hash: String? = nil) -> RunRecord {
    var r = RunRecord(
      label: "cell \(cell)",
      model: .init(path: "x", format: "onnx", sizeBytes: 1, parameters: 10, nonzeroParameters: 5))
    r.sweep = .init(specHash: hash ?? file.specHash, cell: cell, cellCount: file.cellCount)
    return r
  }

  @Test func statusTellsEveryKindOfCellFileApart() throws {
    let path = try Self.folder()
    defer { try? FileManager.default.removeItem(atPath: path) }
    let dir = SweepDirectory(path)
    let file = try dir.create(Self.spec(methods: ["magnitude", "random", "taylor"].prefix(2).map { $0 }, sparsities: [0.1, 0.2, 0.3, 0.4]))
    #expect(file.cellCount == 8)
    let cells = dir.cellsPath
    try dir.writeCell(Self.record(file, cell: 0), cell: 0)  // done
    try dir.recordFailure(cell: 1, specHash: file.specHash, error: "boom: bad weights")  // failed
    // 2: missing
    let good = try Self.record(file, cell: 3).encoded()
    try good.prefix(good.count / 2).write(to: URL(fileURLWithPath: "\(cells)/3.json"))  // partial (truncated)
    try Data("[1, 2".utf8).write(to: URL(fileURLWithPath: "\(cells)/.4.json.tmp-ABC"))  // partial (temp leftover)
    try Data("not json at all".utf8).write(to: URL(fileURLWithPath: "\(cells)/5.json"))  // corrupt
    try Self.record(file, cell: 6, hash: String(repeating: "0", count: 64)).write(to: "\(cells)/6.json")  // foreign
    try Self.record(file, cell: 5, hash: nil).write(to: "\(cells)/7.json")  // corrupt: says cell 5
    try dir.recordFailure(cell: 2, specHash: String(repeating: "f", count: 64), error: "stale")  // ignored
    let status = try SweepStatus(directory: dir)
    let states = status.cells.map(\.state)
    #expect(states == [.done, .failed, .missing, .partial, .partial, .corrupt, .foreign, .corrupt])
    #expect(status.cells[1].detail == "boom: bad weights")
    #expect(status.cells[7].detail?.contains("cell 5") == true)
    #expect(status.notDone == [1, 2, 3, 4, 5, 6, 7])
    #expect(SweepStatus.arrayList(status.notDone) == "1-7")
    // A done cell clears its failure marker.
    try dir.writeCell(Self.record(file, cell: 1), cell: 1)
    #expect(!FileManager.default.fileExists(atPath: dir.failurePath(1)))
    #expect(try SweepStatus(directory: dir).cells[1].state == .done)
  }

  @Test func truncationDetection() {
    #expect(SweepStatus.looksTruncated(Data()))
    #expect(SweepStatus.looksTruncated(Data("{\"a\": [1, 2".utf8)))
    #expect(SweepStatus.looksTruncated(Data("{\"a\": \"x}".utf8)))
    #expect(!SweepStatus.looksTruncated(Data("{\"a\": \"}{\"}".utf8)))
    #expect(!SweepStatus.looksTruncated(Data("garbage".utf8)))
  }

  @Test(arguments: [
    ([Int](), ""), ([3], "3"), ([0, 1, 2, 5, 7, 8], "0-2,5,7-8"), ([9, 1, 0], "0-1,9"),
  ])
  func arrayListIsSlurmSyntax(_ cells: [Int], _ expected: String) {
    #expect(SweepStatus.arrayList(cells) == expected)
  }

  @Test func anotherSpecIntoTheSameFolderIsRefused() throws {
    let path = try Self.folder()
    defer { try? FileManager.default.removeItem(atPath: path) }
    let dir = SweepDirectory(path)
    let first = try dir.create(Self.spec())
    #expect(try dir.create(Self.spec()) == first)  // the same spec: accepted (a resume)
    do {
      try dir.create(Self.spec(sparsities: [0.5]))
      Issue.record("a different spec was accepted")
    } catch let error as SweepError {
      #expect("\(error)".contains("sweep.json") && "\(error)".contains("sparsities"), "\(error)")
    }
    // A spec edited by hand no longer matches its hash.
    let text = try String(contentsOfFile: dir.specPath, encoding: .utf8).replacingOccurrences(of: "0.7", with: "0.75")
    try text.write(toFile: dir.specPath, atomically: true, encoding: .utf8)
    #expect(throws: SweepError.self) { try dir.stored() }
    // cells/ without sweep.json is not a sweep folder.
    try FileManager.default.removeItem(atPath: dir.specPath)
    #expect(throws: SweepError.self) { try dir.stored() }
  }

  // MARK: - Job options

  @Test(arguments: [
    ("30", 1800), ("01:00:00", 3600), ("2-00:00:00", 172_800), ("1-12", 129_600), ("90:30", 5430),
  ])
  func slurmTimeForms(_ text: String, _ seconds: Int) {
    #expect(SweepJobOptions.parseTime(text) == seconds)
  }

  @Test func badTimesAndMemoryAreRefused() {
    for text in ["", "x", "1:2:3:4", "-5", "0", "1-x"] { #expect(SweepJobOptions.parseTime(text) == nil, "\(text)") }
    #expect(SweepJobOptions.parseMemory("4G") == 4096)
    #expect(SweepJobOptions.parseMemory("512m") == 512)
    #expect(SweepJobOptions.parseMemory("2048") == 2048)
    for text in ["", "G", "-1G", "0", "4X", "1.5G"] { #expect(SweepJobOptions.parseMemory(text) == nil, "\(text)") }
    #expect(SweepJobOptions.slurmTime(3600) == "01:00:00")
    #expect(SweepJobOptions.slurmTime(90_061) == "1-01:01:01")
  }

  @Test func kubernetesNamesAreDNSLabels() {
    let name = SweepKubernetes.jobName("My_Sweep.v2", hash: "abcdef012345")
    #expect(name == "my-sweep-v2-abcdef012345")
    let long = SweepKubernetes.jobName(String(repeating: "x", count: 100), hash: "abcdef012345")
    #expect(long.count <= 63 && long.hasSuffix("-abcdef012345"))
    #expect(SweepKubernetes.quote("a \"b\"") == "\"a \\\"b\\\"\"")
  }

  @Test func shellQuoting() {
    #expect(SweepSlurm.shellQuote("runs/sweep-1") == "runs/sweep-1")
    #expect(SweepSlurm.shellQuote("it's") == "'it'\\''s'")
    #expect(SweepSlurm.shellQuote("$HOME") == "'$HOME'")
  }
}
