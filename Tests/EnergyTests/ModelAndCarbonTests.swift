import Foundation
import Testing

@testable import Energy

@Suite struct ModelledEnergyTests {
  @Test func builtinProfilesLoadWithSources() throws {
    for name in HardwareProfile.builtinNames {
      let profile = try HardwareProfile.builtin(name)
      #expect(profile.name == name)
      #expect(!profile.source.isEmpty)
      for key in HardwareProfile.requiredKeys { #expect(profile.value(key) > 0) }
    }
    #expect(throws: EnergyError.self) { try HardwareProfile.builtin("pentium-4") }
  }

  @Test func horowitzNumbersAreTheOnesHanEtAlUse() throws {
    let profile = try HardwareProfile.builtin("horowitz-45nm")
    #expect(profile.value("fp32Add") == 0.9)
    #expect(profile.value("fp32Mult") == 3.7)
    #expect(profile.value("sram32") == 5)
    #expect(profile.value("dram32") == 640)
  }

  @Test func layerEnergyIsHandComputable() throws {
    let model = EnergyModel(profile: try HardwareProfile.builtin("horowitz-45nm"))
    // 10 MACs, 10 fp32 weights from DRAM, 4 activation words.
    let layer = model.layer(
      LayerTraffic(name: "fc", macs: 10, storedWeights: 10, activationReads: 2, activationWrites: 2))
    #expect(abs(layer.arithmetic - 10 * 4.6e-12) < 1e-20)
    #expect(abs(layer.weightAccess - 10 * 640e-12) < 1e-20)
    #expect(abs(layer.activationAccess - 4 * 5e-12) < 1e-20)
  }

  @Test func sparseWeightsWithIndicesCostLessThanDense() throws {
    let model = EnergyModel(profile: try HardwareProfile.builtin("horowitz-45nm"))
    let dense = LayerTraffic(
      name: "fc1", macs: 235_200, storedWeights: 235_200, activationReads: 784, activationWrites: 300)
    let sparse = LayerTraffic(
      name: "fc1", macs: 18_816, storedWeights: 18_816, bitsPerWeight: 32, indexBits: 18_816 * 5,
      activationReads: 784, activationWrites: 300)
    let d = model.inference([dense]).total
    let s = model.inference([sparse]).total
    #expect(d.provenance == .modelled)
    #expect(s.joules < d.joules / 10)
    #expect(d.domains["weights"]! > 100 * d.domains["arithmetic"]!, "DRAM access dominates (Han et al.)")
  }

  @Test func userProfileMissingKeyIsRejectedNamingTheKey() throws {
    let path = NSTemporaryDirectory() + "profile-\(UUID().uuidString).json"
    try #"{"name":"x","title":"x","source":"me","picojoules":{"fp32Add":1},"notes":[]}"#
      .write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }
    #expect(
      throws: EnergyError.invalidProfile(file: path, reason: "picojoules.fp32Mult must be a positive number")
    ) {
      try HardwareProfile.load(path)
    }
  }
}

@Suite struct CarbonTests {
  @Test func tableHasWorldDefaultAndCountriesWithYears() throws {
    let table = try CarbonIntensityTable.builtin()
    #expect(table.world.gramsPerKWh == 475)
    #expect(try table.intensity(for: nil).code == "WORLD")
    let france = try table.intensity(for: "fra")
    #expect(france.name == "France")
    #expect(france.gramsPerKWh > 20 && france.gramsPerKWh < 120)
    #expect(france.year >= 2019)
    #expect(table.regions.count > 150)
  }

  @Test func unknownRegionSuggestsCodes() throws {
    let table = try CarbonIntensityTable.builtin()
    #expect(throws: EnergyError.self) { try table.intensity(for: "Atlantis") }
    do {
      _ = try table.intensity(for: "Fran")
    } catch let error as EnergyError {
      #expect(error.description.contains("FRA"))
    }
  }

  @Test func carbonIsKWhTimesIntensityTimesPUE() throws {
    let energy = EnergyFigure(joules: 3.6e6, low: 1.8e6, high: 7.2e6, provenance: .estimated, method: "t")
    let world = try CarbonIntensityTable.builtin().world
    let estimate = try CarbonEstimate(energy: energy, intensity: world, pue: PUE.uptimeAverage)
    #expect(abs(estimate.grams - 475 * 1.58) < 1e-9)
    #expect(abs(estimate.low - 475 * 1.58 / 2) < 1e-9)
    #expect(throws: EnergyError.self) { try CarbonEstimate(energy: energy, intensity: world, pue: 0.5) }
  }
}
