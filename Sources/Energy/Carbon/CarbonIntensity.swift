import Foundation

/// Grid carbon intensity of a country or region.
public struct GridIntensity: Codable, Sendable, Equatable {
  /// ISO 3166-1 alpha-3 code, or WORLD.
  public var code: String
  public var name: String
  public var gramsPerKWh: Double
  public var year: Int
  public var source: String?
}

/// The table of grid intensities shipped in Resources/carbon-intensity.json (sources inside).
public struct CarbonIntensityTable: Sendable {
  public var world: GridIntensity
  public var regions: [GridIntensity]
  public var source: String

  private struct File: Codable {
    var source: String
    var world: GridIntensity
    var regions: [GridIntensity]
  }

  public static func builtin() throws -> CarbonIntensityTable {
    guard let url = Bundle.module.url(forResource: "carbon-intensity", withExtension: "json"),
      let data = FileManager.default.contents(atPath: url.path)
    else { throw EnergyError.unreadable(path: "carbon-intensity.json", reason: "resource missing") }
    let file = try JSONDecoder().decode(File.self, from: data)
    return CarbonIntensityTable(world: file.world, regions: file.regions, source: file.source)
  }

  /// Looks up an alpha-3 code (case-insensitive); `WORLD` or nil → the world average.
  public func intensity(for code: String?) throws -> GridIntensity {
    guard let code, code.uppercased() != "WORLD" else { return world }
    let upper = code.uppercased()
    if var found = regions.first(where: { $0.code == upper }) {
      found.source = found.source ?? source
      return found
    }
    let close = regions.filter { $0.name.lowercased().hasPrefix(code.lowercased()) }.prefix(3)
    let hint = close.isEmpty ? "" : " (did you mean \(close.map(\.code).joined(separator: ", "))?)"
    throw EnergyError.unknownRegion(code: code, hint: hint)
  }
}

/// Power usage effectiveness presets: facility energy / IT energy.
public enum PUE {
  /// No facility overhead (the figure for the machine alone); CodeCarbon's default.
  public static let none = 1.0
  /// Uptime Institute Global Data Center Survey 2023: average annual PUE 1.58.
  public static let uptimeAverage = 1.58
}

/// CO2-equivalent of an energy figure: kWh × grid intensity × PUE; the band follows the energy band.
public struct CarbonEstimate: Codable, Sendable, Equatable {
  public var grams: Double
  public var low: Double
  public var high: Double
  public var intensity: GridIntensity
  public var pue: Double
  public var energy: EnergyFigure

  public init(energy: EnergyFigure, intensity: GridIntensity, pue: Double) throws {
    guard pue >= 1, pue < 10 else {
      throw EnergyError.invalidArgument("PUE must be in [1, 10), got \(pue)")
    }
    let factor = intensity.gramsPerKWh * pue / 3.6e6  // grams per joule
    self.grams = energy.joules * factor
    self.low = energy.low * factor
    self.high = energy.high * factor
    self.intensity = intensity
    self.pue = pue
    self.energy = energy
  }
}
