import Foundation
import Testing

/// Every crash reproducer scripts/fuzz.sh ever found (Reproducers/<target>/<file>) run through the
/// same parser as the fuzzer (`fuzzOne`, FuzzDispatch.swift): a fixed parser throws or succeeds;
/// a regression traps and fails the run. Plus the fuzzer's synthetic-free real seeds, as a smoke test.
@Suite struct FuzzRegressionTests {
  static let reproducers = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Reproducers").path

  struct Reproducer: CustomTestStringConvertible, Sendable {
    var target: String
    var path: String
    var testDescription: String { "\(target)/\((path as NSString).lastPathComponent)" }
  }

  static var all: [Reproducer] {
    let fm = FileManager.default
    return FuzzTarget.allCases.flatMap { target -> [Reproducer] in
      let dir = "\(reproducers)/\(target.rawValue)"
      let names = (try? fm.contentsOfDirectory(atPath: dir)) ?? []
      return names.sorted().map { Reproducer(target: target.rawValue, path: "\(dir)/\($0)") }
    }
  }

  @Test(arguments: all)
  func reproducerNoLongerCrashes(_ r: Reproducer) throws {
    let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: r.path)))
    fuzzOne(try #require(FuzzTarget(rawValue: r.target)), bytes)
  }

  /// Every target accepts empty input and a few bytes of noise without trapping.
  @Test(arguments: FuzzTarget.allCases.map(\.rawValue))
  func trivialInputs(_ name: String) throws {
    let target = try #require(FuzzTarget(rawValue: name))
    for bytes: [UInt8] in [[], [0], [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], Array("{}".utf8)] {
      fuzzOne(target, bytes)
    }
  }
}
