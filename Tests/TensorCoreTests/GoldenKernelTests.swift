import Foundation
import Testing

@testable import TensorCore

/// Outputs from PyTorch (scripts/kernel_golden.py → Tests/Golden/kernels.json): they catch a reference
/// that is wrong the same way as its fast kernel. Both the fast kernel and the reference are checked.
@Suite struct GoldenKernelTests {
  /// float32 kernels vs PyTorch float64 rounded to float32.
  static let goldenTolerance: Float = 1e-5

  struct Case: Decodable {
    let name: String
    let shape: [Int]
    let values: [Float]
    let input: [Int]
    let weight: [Int]?, bias: [Int]?
    let stride: [Int]?, padding: [Int]?, dilation: [Int]?, kernel: [Int]?
    let groups: Int?, axis: Int?
    let ceilMode: Bool?, countIncludePad: Bool?
    let epsilon: Float?, scale: Float?
    var expected: Tensor { Tensor(shape: shape, floats: values) }
  }
  struct File: Decodable { let cases: [Case] }

  static let cases: [Case] = {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("../Golden/kernels.json")
    guard let data = try? Data(contentsOf: url), let file = try? JSONDecoder().decode(File.self, from: data)
    else { return [] }
    return file.cases
  }()

  /// The script's input formula: (((i·37 + salt) mod 17) − 8) / 4.
  static func pattern(_ shape: [Int], salt: Int, scale: Float = 1) -> Tensor {
    Tensor(
      shape: shape,
      floats: (0..<Tensor.elementCount(shape)).map { i in
        Float((i * 37 + salt) % 17 - 8) / 4 * scale
      })
  }

  func find(_ name: String, _ predicate: (Case) -> Bool = { _ in true }) throws -> Case {
    try #require(Self.cases.first { $0.name == name && predicate($0) }, "golden case \(name) missing")
  }

  @Test func goldenFileIsPresent() {
    #expect(Self.cases.count == 10)
  }

  @Test func conv2dMatchesTorch() throws {
    for (name, salts) in [("conv2d", (1, 2, 3)), ("depthwise", (4, 5, 0))] {
      let c = try find(name)
      let x = Self.pattern(c.input, salt: salts.0)
      let w = Self.pattern(c.weight!, salt: salts.1)
      let b = c.bias.map { Self.pattern($0, salt: salts.2) }
      for f in [conv2d, conv2dReference] {
        let out = try f(x, w, b, c.stride!, c.padding!, c.dilation!, c.groups!)
        #expect(maxAbsDiff(out, c.expected) <= Self.goldenTolerance, "\(name)")
      }
    }
  }

  @Test func poolingMatchesTorch() throws {
    let m = try find("maxPool")
    let x = Self.pattern(m.input, salt: 6)
    for f in [maxPool2d, maxPool2dReference] {
      let out = try f(x, m.kernel!, m.stride!, m.padding!, [1, 1], true)
      #expect(maxAbsDiff(out, m.expected) <= Self.goldenTolerance)
    }
    for include in [true, false] {
      let a = try find("avgPool") { $0.countIncludePad == include }
      for f in [avgPool2d, avgPool2dReference] {
        let out = try f(x, a.kernel!, a.stride!, a.padding!, include, true)
        #expect(maxAbsDiff(out, a.expected) <= Self.goldenTolerance, "countIncludePad \(include)")
      }
    }
  }

  @Test func normalizationMatchesTorch() throws {
    let l = try find("layerNorm")
    let x = Self.pattern(l.input, salt: 7)
    let (g, b) = (Self.pattern([5], salt: 8), Self.pattern([5], salt: 9))
    for f in [layerNorm, layerNormReference] {
      #expect(maxAbsDiff(try f(x, g, b, -1, l.epsilon!), l.expected) <= Self.goldenTolerance)
    }
    let n = try find("batchNorm")
    let bx = Self.pattern(n.input, salt: 12)
    let mean = Self.pattern([3], salt: 13)
    let variance = Self.pattern([3], salt: 14).map { Swift.abs($0) + 0.5 }
    let (scale, bias) = (Self.pattern([3], salt: 15), Self.pattern([3], salt: 16))
    for f in [batchNormInference, batchNormInferenceReference] {
      let out = try f(bx, scale, bias, mean, variance, n.epsilon!)
      #expect(maxAbsDiff(out, n.expected) <= Self.goldenTolerance)
    }
  }

  @Test func softmaxAndGeluMatchTorch() throws {
    for name in ["softmax", "logSoftmax"] {
      let c = try find(name)
      let x = Self.pattern(c.input, salt: 10, scale: c.scale!)
      let fs = name == "softmax" ? [softmax, softmaxReference] : [logSoftmax, logSoftmaxReference]
      for f in fs { #expect(maxAbsDiff(try f(x, c.axis!), c.expected) <= Self.goldenTolerance, "\(name)") }
      // the same along the last axis, after moving axis 1 there
      let moved = try x.transposed(perm: [0, 2, 1])
      let expected = try c.expected.transposed(perm: [0, 2, 1])
      for f in fs { #expect(maxAbsDiff(try f(moved, -1), expected) <= Self.goldenTolerance, "\(name) last") }
    }
    let g = try find("gelu")
    let x = Self.pattern(g.input, salt: 11, scale: g.scale!)
    #expect(maxAbsDiff(gelu(x), g.expected) <= Self.goldenTolerance)
    #expect(maxAbsDiff(geluReference(x), g.expected) <= Self.goldenTolerance)
  }
}
