import Foundation
import TensorCore
import Testing

@testable import Evaluation

@Suite struct ReliabilityTests {
  // Worked example, 10 bins. Two samples at confidence 0.9 (logits 0, ln 9), one right, one wrong:
  // bin 9, accuracy 0.5, confidence 0.9. Two at confidence 0.65 (logits 0, ln(0.65/0.35)), both right:
  // bin 6, accuracy 1, confidence 0.65. ECE = 2/4·|0.5 − 0.9| + 2/4·|1 − 0.65| = 0.2 + 0.175 = 0.375.
  @Test func eceOfAWorkedExample() throws {
    let (a, b) = (Float(log(9.0)), Float(log(0.65 / 0.35)))
    let logits = Tensor(shape: [4, 2], floats: [0, a, 0, a, 0, b, 0, b])
    let r = try Reliability(logits: logits, labels: [1, 0, 1, 1], bins: 10)
    #expect(abs(r.ece - 0.375) < 1e-6)
    #expect(r.bins[9].count == 2 && abs(r.bins[9].accuracy - 0.5) < 1e-12 && abs(r.bins[9].meanConfidence - 0.9) < 1e-6)
    #expect(r.bins[6].count == 2 && r.bins[6].accuracy == 1)
    #expect(r.bins.reduce(0) { $0 + $1.count } == 4)
    #expect(abs(try expectedCalibrationError(logits: logits, labels: [1, 0, 1, 1], bins: 10) - 0.375) < 1e-6)
  }
}

@Suite struct ImageCorruptionTests {
  static func gray(_ n: Int = 8, value: Float = 0.5) -> Tensor {
    Tensor(shape: [n, 1, 28, 28], floats: [Float](repeating: value, count: n * 784))
  }

  @Test(arguments: ImageCorruptionKind.allCases)
  func deterministicPerSeedAndInRange(_ kind: ImageCorruptionKind) throws {
    var x = [Float](repeating: 0, count: 4 * 784)
    var rng = SeededGenerator(seed: 3)
    for i in x.indices { x[i] = rng.nextUniform() }
    let images = Tensor(shape: [4, 1, 28, 28], floats: x)
    let a = try kind.apply(to: images, severity: 3, seed: 7).floats
    let b = try kind.apply(to: images, severity: 3, seed: 7).floats
    #expect(a == b)
    #expect(a.allSatisfy { $0 >= 0 && $0 <= 1 })
    #expect(a != x, "\(kind) changed nothing")
    if [.gaussianNoise, .shotNoise, .dropout, .rotate, .shift].contains(kind) {
      #expect(try kind.apply(to: images, severity: 3, seed: 8).floats != a, "\(kind) ignores its seed")
    }
    #expect(throws: EvaluationError.self) { try kind.apply(to: images, severity: 6, seed: 1) }
  }

  // Severities 1–3: clipping at 0 and 1 (≥ 2.8 σ from 0.5) changes the spread by < 1%; beyond that the
  // clipped spread is smaller than σ by construction.
  @Test(arguments: [1, 2, 3])
  func gaussianNoiseHasTheStatedSigma(_ severity: Int) throws {
    let sigma = ImageCorruptionKind.gaussianNoise.parameter(severity: severity)
    let out = try ImageCorruptionKind.gaussianNoise.apply(to: Self.gray(16), severity: severity, seed: 1).floats
    let sd = (out.map { Double($0 - 0.5) * Double($0 - 0.5) }.reduce(0, +) / Double(out.count)).squareRoot()
    #expect(abs(sd - sigma) / sigma < 0.04, "σ \(sigma), measured \(sd)")
  }

  @Test(arguments: [1, 3, 5])
  func dropoutZeroesTheStatedFraction(_ severity: Int) throws {
    let p = ImageCorruptionKind.dropout.parameter(severity: severity)
    let out = try ImageCorruptionKind.dropout.apply(to: Self.gray(16, value: 1), severity: severity, seed: 2).floats
    let zeroed = Double(out.filter { $0 == 0 }.count) / Double(out.count)
    #expect(abs(zeroed - p) < 0.02)
  }

  @Test func shotNoiseKeepsTheMean() throws {
    let out = try ImageCorruptionKind.shotNoise.apply(to: Self.gray(16, value: 0.3), severity: 3, seed: 2).floats
    #expect(abs(out.reduce(0, +) / Float(out.count) - 0.3) < 0.01)
  }

  @Test(arguments: [1, 5])
  func contrastShrinksTheSpreadByItsFactor(_ severity: Int) throws {
    var x = [Float](repeating: 0.2, count: 784)
    for i in stride(from: 0, to: 784, by: 2) { x[i] = 0.8 }
    let out = try ImageCorruptionKind.contrast.apply(to: Tensor(shape: [1, 1, 28, 28], floats: x), severity: severity, seed: 0).floats
    let c = ImageCorruptionKind.contrast.parameter(severity: severity)
    #expect(abs(Double(out[0] - out[1]) - 0.6 * c) < 1e-5)
  }

  @Test(arguments: [1, 3, 5])
  func shiftMovesByTheStatedPixels(_ severity: Int) throws {
    var x = [Float](repeating: 0, count: 784)
    x[14 * 28 + 14] = 1
    let out = try ImageCorruptionKind.shift.apply(to: Tensor(shape: [1, 1, 28, 28], floats: x), severity: severity, seed: 5).floats
    let at = try #require(out.firstIndex(of: 1))
    let (dy, dx) = (at / 28 - 14, at % 28 - 14)
    #expect(max(abs(dx), abs(dy)) == severity && (dx == 0 || dy == 0 || abs(dx) == abs(dy)))
  }

  @Test func rotateTurnsAPointAboutTheCentreByTheStatedAngle() throws {
    // 27×27 so the centre is a pixel: a point 10 px right of it moves 10·sin(5°) ≈ 0.87 px vertically.
    var x = [Float](repeating: 0, count: 27 * 27)
    x[13 * 27 + 23] = 1
    let out = try ImageCorruptionKind.rotate.apply(to: Tensor(shape: [1, 1, 27, 27], floats: x), severity: 1, seed: 1).floats
    var (my, mass) = (0.0, 0.0)
    for (i, v) in out.enumerated() {
      my += Double(v) * Double(i / 27 - 13)
      mass += Double(v)
    }
    #expect(abs(abs(my / mass) - 10 * sin(5 * Double.pi / 180)) < 0.05)
  }

  @Test func blurKeepsAFlatImageFlat() throws {
    let out = try ImageCorruptionKind.blur.apply(to: Self.gray(1, value: 0.4), severity: 5, seed: 0).floats
    #expect(out.allSatisfy { abs($0 - 0.4) < 1e-5 })
  }
}

@Suite struct TextCorruptionTests {
  static let texts = (0..<400).map { "the quick brown fox number \($0) jumps over the lazy dog" }

  @Test(arguments: TextCorruptionKind.allCases)
  func deterministicPerSeed(_ kind: TextCorruptionKind) throws {
    let a = try kind.apply(to: Self.texts, severity: 3, seed: 1)
    #expect(a == (try kind.apply(to: Self.texts, severity: 3, seed: 1)))
    #expect(a != (try kind.apply(to: Self.texts, severity: 3, seed: 2)))
    #expect(a != Self.texts)
    #expect(throws: EvaluationError.self) { try kind.apply(to: Self.texts, severity: 0, seed: 1) }
  }

  @Test(arguments: [1, 5])
  func droppedWordsAtTheStatedRate(_ severity: Int) throws {
    let out = try TextCorruptionKind.droppedWords.apply(to: Self.texts, severity: severity, seed: 4)
    let before = Self.texts.reduce(0) { $0 + $1.split(separator: " ").count }
    let after = out.reduce(0) { $0 + $1.split(separator: " ").count }
    #expect(abs(1 - Double(after) / Double(before) - TextCorruptionKind.rate(severity: severity)) < 0.02)
  }

  @Test func casingFlipsTheStatedShareOfLetters() throws {
    let out = try TextCorruptionKind.casing.apply(to: Self.texts, severity: 2, seed: 4).joined()
    let letters = out.filter(\.isLetter)
    let upper = Double(letters.filter(\.isUppercase).count) / Double(letters.count)
    #expect(abs(upper - 0.10) < 0.01)
  }

  @Test func typosUseKeyboardNeighboursAndSwapsKeepLetters() throws {
    let typos = try TextCorruptionKind.typos.apply(to: ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"], severity: 5, seed: 1)[0]
    #expect(Set(typos).isSubset(of: Set("aqwszx")) && typos.contains { $0 != "a" })
    let swapped = try TextCorruptionKind.swaps.apply(to: Self.texts, severity: 5, seed: 1)
    for (a, b) in zip(swapped, Self.texts) { #expect(a.sorted() == b.sorted()) }
  }
}

@Suite struct TextGroupRuleTests {
  let rules = try! TextGroupRules(
    parsing: "# topics\nairlines: united, delta, flight\nApple: iphone, #apple\n\n", source: "topics.txt")

  @Test func firstMatchingRuleWinsWholeWordsOnly() throws {
    let groups = try rules.assign(["My United flight was late", "new iPhone!", "#apple event", "unitedly nothing"])
    #expect(groups == ["airlines", "Apple", "Apple", "other"])
  }

  @Test func aGroupThatMatchesNothingIsAnErrorNamingIt() {
    #expect {
      try rules.assign(["my flight"])
    } throws: { error in
      "\(error)".contains("topics.txt") && "\(error)".contains("'Apple' matches none")
    }
  }

  @Test func malformedRuleFilesAreRejectedWithTheLine() {
    #expect { try TextGroupRules(parsing: "airlines united\n", source: "g.txt") } throws: { "\($0)".contains("g.txt line 1") }
    #expect { try TextGroupRules(parsing: "airlines:\n", source: "g.txt") } throws: { "\($0)".contains("g.txt line 1") }
    #expect { try TextGroupRules(parsing: "# nothing\n", source: "g.txt") } throws: { "\($0)".contains("no rules") }
  }
}
