/// Errors of the Energy module. A meter that cannot be used is not an error: it reports
/// `MeterAvailability.unavailable(reason:)` and the probe moves on.
public enum EnergyError: Error, CustomStringConvertible, Equatable {
  case meterUnavailable(meter: String, reason: String)
  case unreadable(path: String, reason: String)
  case malformedCounter(path: String, found: String)
  case unknownRegion(code: String, hint: String)
  case unknownProfile(name: String, available: [String])
  case invalidProfile(file: String, reason: String)
  case invalidArgument(String)

  public var description: String {
    switch self {
    case .meterUnavailable(let meter, let reason): return "\(meter) is unavailable: \(reason)"
    case .unreadable(let path, let reason): return "\(path): cannot read (\(reason))"
    case .malformedCounter(let path, let found):
      return "\(path): expected an unsigned integer energy counter, found '\(found)'"
    case .unknownRegion(let code, let hint):
      return "unknown grid region '\(code)': expected an ISO 3166 alpha-3 code such as FRA or USA\(hint)"
    case .unknownProfile(let name, let available):
      return "unknown hardware profile '\(name)': available are \(available.joined(separator: ", "))"
    case .invalidProfile(let file, let reason): return "\(file): invalid hardware profile (\(reason))"
    case .invalidArgument(let message): return message
    }
  }
}
