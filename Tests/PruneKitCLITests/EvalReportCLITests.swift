import Foundation
import PruneKit
import Testing

/// `prunekit eval` and `prunekit report` end to end on small fixtures: the MLP and LeNet-5 ONNX
/// fixtures on a 40-image IDX folder, and a bag-of-words text classifier on a 60-row CSV
/// (Tests/Fixtures/text-classifier, made by scripts/make_text_classifier_fixture.py).
@Suite(.serialized) struct EvalReportCLITests {
  static let textFixtures = CLI.packageRoot + "/Tests/Fixtures/text-classifier"

  final class Workspace {
    let path: String
    init() throws {
      path = try CLI.temporaryFolder()
      for name in ["mlp", "lenet5", "resblock"] {
        try FileManager.default.copyItem(atPath: CLI.fixtures + "/\(name).onnx", toPath: path + "/\(name).onnx")
      }
      for name in ["model.onnx", "pruned.onnx", "vocab.txt", "texts.csv", "topics.txt"] {
        try FileManager.default.copyItem(atPath: EvalReportCLITests.textFixtures + "/" + name, toPath: path + "/" + name)
      }
      var rng = SeededGenerator(seed: 9)
      let images = (0..<(40 * 784)).map { _ in UInt8(truncatingIfNeeded: rng.next() >> 56) }
      try idxFolder("digits", images: images, labels: (0..<40).map { UInt8($0 % 10) })
      try idxFolder("badlabels", images: images, labels: (0..<40).map { $0 == 7 ? 12 : UInt8($0 % 10) })
      try Data("text,sentiment\nhello,positive\n".utf8).write(to: URL(fileURLWithPath: path + "/small.csv"))
      try Data("nothing: zeppelin\n".utf8).write(to: URL(fileURLWithPath: path + "/norules.txt"))
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    func idxFolder(_ name: String, images: [UInt8], labels: [UInt8]) throws {
      let dir = path + "/" + name
      try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
      let n = UInt8(labels.count)
      for split in ["train", "t10k"] {
        try Data([0, 0, 8, 3, 0, 0, 0, n, 0, 0, 0, 28, 0, 0, 0, 28] + images).write(
          to: URL(fileURLWithPath: "\(dir)/\(split)-images-idx3-ubyte"))
        try Data([0, 0, 8, 1, 0, 0, 0, n] + labels).write(to: URL(fileURLWithPath: "\(dir)/\(split)-labels-idx1-ubyte"))
      }
    }
  }

  func ok(_ arguments: [String], in w: Workspace) throws -> CLI.Result {
    let r = try CLI.run(arguments, in: w.path)
    #expect(r.status == 0, "\(arguments.joined(separator: " ")): \(r.output)")
    return r
  }

  @Test func evalBesideDenseWritesEveryFactAndIsDeterministic() throws {
    let w = try Workspace()
    let args = [
      "eval", "lenet5.onnx", "--dense", "mlp.onnx", "--data", "digits", "--severities", "1,5", "--latency-runs", "3",
      "--robustness-samples", "20",
    ]
    let r = try ok(args + ["-o", "a.json"], in: w)
    #expect(r.stdout.contains("accuracy") && r.stdout.contains("robustness"))
    let record = try RunRecord.read(from: w.path + "/a.json")
    #expect(record.label == "lenet5.onnx")
    #expect(record.data?.sampleCount == 40 && record.data?.split == "test")
    let accuracy = try #require(record.accuracy)
    #expect(accuracy.confusion?.flatMap { $0 }.reduce(0, +) == 40)
    #expect(accuracy.perClass?.count == 10 && accuracy.topK?["5"] != nil)
    #expect(record.groups?.groups.count == 10 && record.groups?.groups.allSatisfy { $0.denseAccuracy != nil } == true)
    let agreement = try #require(record.agreement)
    #expect(agreement.exemplars.count == Int((agreement.flipRate * 40).rounded()))
    #expect(record.calibration?.bins.reduce(0) { $0 + $1.count } == 40)
    #expect(record.robustness?.count == 7 * 2)
    #expect(record.model.parameters > 0 && (record.model.macs ?? 0) > 0 && record.model.sizeBytes > 0)
    #expect(record.latency?.p50Milliseconds ?? 0 > 0 && record.energy?.provenance == "modelled")
    #expect(record.dense?.accuracy != nil && record.dense?.perClass?.count == 10)
    // The same seed gives the same facts (everything but the timings).
    _ = try ok(args + ["-o", "b.json"], in: w)
    var again = try RunRecord.read(from: w.path + "/b.json")
    again.latency = record.latency
    again.dense?.p50Milliseconds = record.dense?.p50Milliseconds
    again.dense?.p99Milliseconds = record.dense?.p99Milliseconds
    again.notes = record.notes
    #expect(again == record)
  }

  @Test func validationSplitIsTheLastTenthOfTrain() throws {
    let w = try Workspace()
    _ = try ok(["eval", "mlp.onnx", "--data", "digits", "--split", "validation", "--corruptions", "none", "-o", "v.json"], in: w)
    let record = try RunRecord.read(from: w.path + "/v.json")
    #expect(record.data?.sampleCount == 4 && record.data?.split.hasPrefix("validation") == true)
    #expect(record.robustness == nil && record.agreement == nil)
  }

  @Test func textClassifierWithRuleGroupsAndTextCorruptions() throws {
    let w = try Workspace()
    _ = try ok(
      [
        "eval", "pruned.onnx", "--dense", "model.onnx", "--data", "texts.csv:text:sentiment", "--groups",
        "rules:topics.txt", "--corruptions", "typos,dropped-words", "--latency-runs", "2", "-o", "t.json",
      ], in: w)
    let record = try RunRecord.read(from: w.path + "/t.json")
    #expect(record.data?.sampleCount == 60)
    #expect(record.accuracy?.perClass?.map(\.name) == ["negative", "neutral", "positive"])
    #expect(Set(record.groups?.groups.map(\.name) ?? []) == ["airlines", "Apple", "driverless cars", "festival", "sport"])
    #expect(record.robustness?.map(\.corruption) == ["typos", "typos", "typos", "dropped-words", "dropped-words", "dropped-words"])
    #expect((record.agreement?.flipsByGroup?.count ?? 0) == 5)
    _ = try ok(["eval", "model.onnx", "--data", "texts.csv:text:sentiment:0..29", "--groups", "column:lang", "-o", "c.json"], in: w)
    let byColumn = try RunRecord.read(from: w.path + "/c.json")
    #expect(byColumn.data?.sampleCount == 30 && Set(byColumn.groups?.groups.map(\.name) ?? []) == ["en", "xx"])
  }

  @Test func reportRendersHTMLMarkdownAndRoundTripsJSON() throws {
    let w = try Workspace()
    let common = ["--data", "digits", "--latency-runs", "2", "--robustness-samples", "10", "--severities", "3"]
    _ = try ok(["eval", "mlp.onnx"] + common + ["-o", "dense.json"], in: w)
    _ = try ok(["eval", "lenet5.onnx", "--dense", "mlp.onnx"] + common + ["-o", "other.json"], in: w)
    let r = try ok(["report", "dense.json", "other.json", "-o", "r.html"], in: w)
    #expect(r.stdout.contains("mlp.onnx") && r.stdout.contains("lenet5.onnx"))
    let html = try String(contentsOfFile: w.path + "/r.html", encoding: .utf8)
    #expect(html.contains("<svg") && html.contains("Pareto front") && !html.contains("<script"))
    #expect(!html.contains("data-points=\"0\""))
    _ = try ok(["report", "dense.json", "other.json", "-o", "r.md"], in: w)
    let md = try String(contentsOfFile: w.path + "/r.md", encoding: .utf8)
    #expect(md.contains("| model | size |"))
    _ = try ok(["report", "dense.json", "other.json", "-o", "r.json"], in: w)
    _ = try ok(["report", "r.json", "-o", "again.html"], in: w)
    #expect(try String(contentsOfFile: w.path + "/again.html", encoding: .utf8) == html)
    let runs = try ReportBundle.runs(in: w.path + "/r.json")
    #expect(runs == [try RunRecord.read(from: w.path + "/dense.json"), try RunRecord.read(from: w.path + "/other.json")])
  }

  struct Bad: CustomTestStringConvertible, Sendable {
    var arguments: [String]
    var fragments: [String]
    var testDescription: String { arguments.joined(separator: " ") }
  }

  @Test(arguments: [
    Bad(arguments: ["eval", "mlp.onnx", "--data", "badlabels"], fragments: ["badlabels/t10k-labels-idx1-ubyte", "0..<10", "12"]),
    Bad(arguments: ["eval", "model.onnx", "--data", "texts.csv:text:stars"], fragments: ["texts.csv has no column 'stars'"]),
    Bad(
      arguments: ["eval", "model.onnx", "--data", "texts.csv:text:sentiment", "--groups", "rules:norules.txt"],
      fragments: ["norules.txt", "'nothing' matches none"]),
    Bad(arguments: ["eval", "mlp.onnx", "--dense", "resblock.onnx", "--data", "digits"], fragments: ["resblock.onnx"]),
    Bad(arguments: ["eval", "mlp.onnx", "--data", "digits", "--groups", "column:x"], fragments: ["needs a CSV"]),
    Bad(arguments: ["eval", "mlp.onnx", "--data", "digits", "--corruptions", "fog"], fragments: ["--corruptions fog"]),
    Bad(arguments: ["eval", "mlp.onnx", "--data", "digits", "--severities", "0,9"], fragments: ["--severities 0,9"]),
    Bad(arguments: ["report", "small.csv", "-o", "out.html"], fragments: ["small.csv", "prunekit.run"]),
    Bad(arguments: ["report", "missing.json", "-o", "out.html"], fragments: ["missing.json"]),
  ])
  func badInputFailsClearlyAndWritesNothing(_ bad: Bad) throws {
    let w = try Workspace()
    let output = bad.arguments[0] == "eval" ? ["-o", "out.json"] : []
    let r = try CLI.run(bad.arguments + output, in: w.path)
    #expect(r.status == 1 || r.status == 64, "\(r.output)")
    for fragment in bad.fragments { #expect(r.stderr.contains(fragment), "missing '\(fragment)' in: \(r.stderr)") }
    #expect(!FileManager.default.fileExists(atPath: w.path + "/out.json"))
    #expect(!FileManager.default.fileExists(atPath: w.path + "/out.html"))
    #expect(!CLI.listing(w.path).contains { $0.contains(".tmp-") })
  }
}
