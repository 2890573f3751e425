import Foundation
import ModelGraph
import TensorCore
import Testing

@testable import Training

/// A two-block "encoder" on x [N, T, 4]: MatMul + bias → LayerNormalization → h1, then MatMul + bias
/// → Relu → LayerNormalization → y (the residual-stream states a layer-wise distillation matches).
func tinyEncoder(seed: UInt64) -> Graph {
  Graph(
    name: "encoder",
    nodes: [
      Node(name: "mm1", opType: "MatMul", inputs: ["x", "w1"], outputs: ["a1"]),
      Node(name: "add1", opType: "Add", inputs: ["a1", "b1"], outputs: ["z1"]),
      Node(name: "ln1", opType: "LayerNormalization", inputs: ["z1", "g1", "c1"], outputs: ["h1"], attributes: ["axis": .int(-1)]),
      Node(name: "mm2", opType: "MatMul", inputs: ["h1", "w2"], outputs: ["a2"]),
      Node(name: "add2", opType: "Add", inputs: ["a2", "b2"], outputs: ["z2"]),
      Node(name: "relu", opType: "Relu", inputs: ["z2"], outputs: ["r2"]),
      Node(name: "ln2", opType: "LayerNormalization", inputs: ["r2", "g2", "c2"], outputs: ["y"], attributes: ["axis": .int(-1)]),
    ],
    initializers: [
      "w1": randn([4, 4], seed: seed), "b1": randn([4], seed: seed + 1, scale: 0.1),
      "g1": randn([4], seed: seed + 2, scale: 0.2).adding(1), "c1": randn([4], seed: seed + 3, scale: 0.1),
      "w2": randn([4, 4], seed: seed + 4), "b2": randn([4], seed: seed + 5, scale: 0.5),
      "g2": randn([4], seed: seed + 6, scale: 0.2).adding(1), "c2": randn([4], seed: seed + 7, scale: 0.1),
    ],
    inputs: [ValueInfo(name: "x", dtype: .float32, shape: [.symbolic("N"), .symbolic("T"), .fixed(4)])],
    outputs: [ValueInfo(name: "y", dtype: .float32, shape: [.symbolic("N"), .symbolic("T"), .fixed(4)])])
}

extension Tensor {
  fileprivate func adding(_ c: Float) -> Tensor { Tensor(shape: shape, floats: floats.map { $0 + c }) }
}

@Suite struct HiddenDistillationTests {
  /// 2 texts × 3 tokens, the second text's last token padded.
  let batch = FineTuneBatch(inputs: [
    "x": randn([2, 3, 4], seed: 11), "attention_mask": Tensor(shape: [2, 3], int64s: [1, 1, 1, 1, 1, 0]),
  ])

  func objective(_ loss: FineTuneObjective.Distillation, output: FineTuneObjective.Distillation = .hidden)
    throws -> FineTuneObjective
  {
    FineTuneObjective(
      distillation: output, maskInput: "attention_mask",
      hiddenStates: try DistillationLayers.resolve("all", in: tinyEncoder(seed: 1)), layerLoss: loss, layerWeight: 0.7)
  }

  @Test func layersResolveFromTheNormalizationOutputsByIndexOrName() throws {
    let g = tinyEncoder(seed: 1)
    #expect(try DistillationLayers.resolve("all", in: g) == ["h1", "y"])
    #expect(try DistillationLayers.resolve("-1", in: g) == ["y"])
    #expect(try DistillationLayers.resolve(" 0 , r2,0", in: g) == ["h1", "r2"])
    #expect { try DistillationLayers.resolve("2", in: g) } throws: { "\($0)".contains("indices 0..1") }
    #expect { try DistillationLayers.resolve("nope", in: g) } throws: { "\($0)".contains("'nope'") }
    #expect { try DistillationLayers.resolve("0,,1", in: g) } throws: { "\($0)".contains("expected all") }
    #expect { try DistillationLayers.resolve("all", in: smallMLP(seed: 1)) } throws: {
      "\($0)".contains("no LayerNormalization")
    }
  }

  @Test(arguments: [FineTuneObjective.Distillation.mse, .cosine])
  func layerLossIsZeroWhenTheStudentIsTheTeacher(loss: FineTuneObjective.Distillation) throws {
    let tuner = try FineTuner(
      student: tinyEncoder(seed: 1), teacher: tinyEncoder(seed: 1), objective: objective(loss),
      optimizer: .adamW())
    let (report, grads, _) = try tuner.lossAndGradients(batch, training: false, seed: 0)
    #expect(try #require(report.layerLoss) < 1e-6 && report.loss < 1e-6, "\(report)")
    #expect(grads.allSatisfy { $0.allSatisfy { abs($0) < 1e-4 } }, "\(grads)")
  }

  /// The whole objective (hidden states at both layers with padded tokens excluded, plus the
  /// pooled-cosine output term) against central finite differences in every weight.
  @Test(arguments: [FineTuneObjective.Distillation.mse, .cosine])
  func layerLossGradientMatchesFiniteDifferences(loss: FineTuneObjective.Distillation) throws {
    let teacher = tinyEncoder(seed: 7)
    let objective = try objective(loss, output: .pooledCosine)
    func tuner(_ g: Graph) throws -> FineTuner {
      try FineTuner(student: g, teacher: teacher, objective: objective, optimizer: .adamW())
    }
    let student = tinyEncoder(seed: 1)
    let base = try tuner(student)
    let (report, grads, _) = try base.lossAndGradients(batch, training: false, seed: 0)
    #expect(try #require(report.layerLoss) > 1e-2)
    let eps: Float = 1e-2
    for (i, name) in base.parameters.names.enumerated() {
      let w = student.initializers[name]!
      for j in 0..<w.count {
        func lossAt(_ delta: Float) throws -> Double {
          var g = student, v = w.floats
          v[j] += delta
          g.setInitializer(name, Tensor(shape: w.shape, floats: v))
          return Double(try tuner(g).lossAndGradients(batch, training: false, seed: 0).0.loss)
        }
        let numeric = (try lossAt(eps) - lossAt(-eps)) / Double(2 * eps)
        #expect(
          abs(Double(grads[i][j]) - numeric) <= 3e-3 * (1 + abs(numeric)), "\(loss) \(name)[\(j)]: \(grads[i][j]) vs \(numeric)")
      }
    }
  }

  @Test func hiddenDistillationPullsTheStudentTowardsTheTeacher() throws {
    let tuner = try FineTuner(
      student: tinyEncoder(seed: 1), teacher: tinyEncoder(seed: 7), objective: objective(.mse),
      optimizer: .adamW(learningRate: 0.02, weightDecay: 0))
    let first = try tuner.step(batch, learningRate: 0.02, seed: 1).loss
    var last = first
    for _ in 0..<80 { last = try tuner.step(batch, learningRate: 0.02, seed: 1).loss }
    #expect(last < 0.3 * first, "\(first) → \(last)")
  }

  @Test func badHiddenStatesAreRefusedNamingThem() throws {
    let make = { (o: FineTuneObjective, teacher: Graph?) in
      try FineTuner(student: tinyEncoder(seed: 1), teacher: teacher, objective: o, optimizer: .adamW())
    }
    #expect { try make(FineTuneObjective(hiddenStates: ["nope"]), tinyEncoder(seed: 2)) } throws: {
      "\($0)".contains("'nope'")
    }
    #expect { try make(FineTuneObjective(hiddenStates: ["h1"]), nil) } throws: { "\($0)".contains("teacher") }
    #expect { try make(FineTuneObjective(distillation: .hidden), tinyEncoder(seed: 2)) } throws: {
      "\($0)".contains("no hidden states")
    }
    #expect { try make(FineTuneObjective(hiddenStates: ["h1"], layerLoss: .kl), tinyEncoder(seed: 2)) } throws: {
      "\($0)".contains("mse or cosine")
    }
  }
}
