import Foundation

/// Energy per operation and per memory access of a technology node. Profiles are data: JSON files
/// in Resources/ with their sources, or a user's file of the same shape.
public struct HardwareProfile: Codable, Sendable, Equatable {
  public var name: String
  public var title: String
  public var source: String
  /// Picojoules per operation or per 32-bit access. Required keys: `requiredKeys`.
  public var picojoules: [String: Double]
  public var notes: [String]

  public static let requiredKeys = ["fp32Add", "fp32Mult", "sram32", "dram32"]
  public static let builtinNames = ["horowitz-45nm", "jouppi-7nm"]

  public func value(_ key: String) -> Double { picojoules[key] ?? 0 }

  /// A built-in profile by name.
  public static func builtin(_ name: String) throws -> HardwareProfile {
    guard builtinNames.contains(name),
      let url = Bundle.module.url(forResource: name, withExtension: "json")
    else { throw EnergyError.unknownProfile(name: name, available: builtinNames) }
    return try load(url.path)
  }

  /// A profile from a JSON file; every required key must be present and positive.
  public static func load(_ path: String) throws -> HardwareProfile {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw EnergyError.unreadable(path: path, reason: "no such file")
    }
    let profile: HardwareProfile
    do {
      profile = try JSONDecoder().decode(HardwareProfile.self, from: data)
    } catch {
      throw EnergyError.invalidProfile(file: path, reason: "\(error)")
    }
    for key in requiredKeys {
      guard let value = profile.picojoules[key], value > 0 else {
        throw EnergyError.invalidProfile(file: path, reason: "picojoules.\(key) must be a positive number")
      }
    }
    return profile
  }
}
