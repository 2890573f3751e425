import Foundation
import Testing

@testable import PruneKit

/// A counter that advances by a fixed amount per read: a deterministic "measured" meter.
struct SteppingCounter: CounterSource, @unchecked Sendable {
  final class State: @unchecked Sendable { var microjoules: UInt64 = 0 }
  let state = State()
  var name: String { "fake" }
  func availability() -> MeterAvailability { .available("package-0") }
  func read() throws -> [EnergyCounter] {
    state.microjoules += 1_000_000
    return [EnergyCounter(domain: "package-0", microjoules: state.microjoules)]
  }
}

/// y = x · Wᵀ: a 4→3 linear layer, half of whose weights are zero.
func tinyLinearGraph() -> Graph {
  var graph = Graph(
    name: "tiny",
    nodes: [
      Node(name: "fc", opType: "Gemm", inputs: ["x", "w"], outputs: ["y"], attributes: ["transB": .int(1)])
    ],
    inputs: [ValueInfo(name: "x", dtype: .float32, shape: [.symbolic("batch"), .fixed(4)])],
    outputs: [ValueInfo(name: "y", dtype: .float32, shape: [.symbolic("batch"), .fixed(3)])])
  graph.setInitializer("w", Tensor(shape: [3, 4], floats: [1, 0, 2, 0, 0, 3, 0, 4, 5, 0, 6, 0]))
  return graph
}

@Suite struct EnergyRecipeTests {
  @Test func measuredRunAndModelledFiguresAreLabelled() throws {
    var options = EnergyRunOptions()
    options.batch = 2
    options.runs = 5
    options.minSeconds = 0
    options.region = "FRA"
    options.probe = EnergyProbe(cpuMeters: [CounterMeter(SteppingCounter())], gpuMeters: [])
    let result = try measureEnergy(of: tinyLinearGraph(), named: "tiny", options: options)
    #expect(result.perInference.provenance == .measured)
    // Begin read + end read of a counter stepping 1 J per read: 1 J per repeat, over runs × batch
    // inferences; every repeat reads the same, so the spread is nil.
    #expect(abs(result.region.joules - Double(options.repeats)) < 1e-9)
    #expect(result.repeats.samples.count == options.repeats)
    #expect(result.repeats.p10 == result.repeats.p90)
    #expect(abs(result.perInference.joules - Double(options.repeats) / Double(result.runs * 2)) < 1e-12)
    #expect(result.macs == 12)
    #expect(result.nonzeroMACs == 6)
    let dense = try #require(result.modelled["dense fp32"])
    let sparse = try #require(result.modelled["sparse: 32-bit values + 5-bit indices"])
    #expect(dense.provenance == .modelled)
    #expect(sparse.joules < dense.joules)
    #expect(result.carbonPerMillion.intensity.code == "FRA")
  }

  @Test func fallbackIsEstimatedNeverZeroAndCSVHasProvenance() throws {
    var options = EnergyRunOptions()
    options.runs = 3
    options.minSeconds = 0.05
    options.probe = EnergyProbe(cpuMeters: [CounterMeter(RAPLSource(root: "/nonexistent"))], gpuMeters: [])
    let result = try measureEnergy(of: tinyLinearGraph(), named: "tiny", options: options)
    #expect(result.perInference.provenance == .estimated)
    #expect(result.perInference.joules > 0)
    let csv = EmissionsRecord.csv(EnergyReporting.emissionsRecords([result]))
    let header = csv.split(separator: "\n")[0].split(separator: ",").map(String.init)
    let row = csv.split(separator: "\n")[1]
    #expect(header.last == "high")
    #expect(row.contains(",estimated,"))
  }

  @Test func ratioUsesTheSameMethodForBoth() throws {
    var options = EnergyRunOptions()
    options.runs = 2
    options.minSeconds = 0
    options.probe = EnergyProbe(cpuMeters: [CounterMeter(SteppingCounter())], gpuMeters: [])
    let a = try measureEnergy(of: tinyLinearGraph(), named: "a", options: options)
    let ratios = EnergyReporting.ratios(a, a)
    #expect(ratios["measured (run)"] == 1)
    #expect(ratios["modelled (dense vs best storage)"]! > 1)
    #expect(EnergyReporting.document([a, a]).markdown().contains("a / a"))
    // A model against itself: the ratio's interval holds 1.
    let spread = try #require(EnergyReporting.runRatio(a, a))
    #expect(spread.spansOne)
    #expect(EnergyReporting.describe(spread).hasSuffix("no measurable difference"))
  }

  @Test func spreadPercentilesInterpolate() {
    let s = Spread([5, 1, 3, 2, 4])
    #expect(s.median == 3)
    #expect(abs(s.p10 - 1.4) < 1e-12)
    #expect(abs(s.p90 - 4.6) < 1e-12)
    #expect(!Spread([1.2, 1.5, 1.3]).spansOne)
    #expect(Spread([0.9, 1.1]).spansOne)
  }

  @Test func sparseStorageIsShownOnlyWhereItSaves() throws {
    var options = EnergyRunOptions()
    options.runs = 1
    options.repeats = 1
    options.minSeconds = 0
    options.probe = EnergyProbe(cpuMeters: [CounterMeter(SteppingCounter())], gpuMeters: [])
    // One zero in a 3×200 weight: indices for 599 values cost more than the one skipped zero.
    var graph = tinyLinearGraph()
    graph.inputs = [ValueInfo(name: "x", dtype: .float32, shape: [.symbolic("batch"), .fixed(200)])]
    graph.setInitializer("w", Tensor(shape: [3, 200], floats: (0..<600).map { $0 == 0 ? 0 : 1 }))
    let result = try measureEnergy(of: graph, named: "dense-ish", options: options)
    #expect(result.modelled.count == 1)
    #expect(result.notes.contains { $0.contains("sparse storage not shown") })
  }

  @Test func badOptionsAreRejected() {
    var options = EnergyRunOptions()
    options.batch = 0
    #expect(throws: EnergyError.self) {
      try measureEnergy(of: tinyLinearGraph(), named: "t", options: options)
    }
    options.batch = 1
    options.region = "XXX"
    options.minSeconds = 0
    #expect(throws: EnergyError.self) {
      try measureEnergy(of: tinyLinearGraph(), named: "t", options: options)
    }
  }
}
