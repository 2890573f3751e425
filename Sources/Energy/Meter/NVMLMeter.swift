import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The part of NVML PruneKit uses; a seam so that tests can fake a GPU.
public protocol NVMLLibrary: Sendable {
  /// Device names, one per GPU; throws if NVML cannot initialise.
  func devices() throws -> [String]
  /// Total energy since the driver loaded, millijoules (`nvmlDeviceGetTotalEnergyConsumption`,
  /// Volta and newer).
  func totalEnergyMillijoules(device: Int) throws -> UInt64
}

/// NVIDIA GPUs through NVML's total-energy counter.
public struct NVMLSource: CounterSource {
  public let library: (any NVMLLibrary)?
  public let loadFailure: String?
  public var name: String { "NVML" }

  /// Loads `libnvidia-ml.so.1` at run time; an absent library makes the meter unavailable.
  public init() {
    do {
      library = try DynamicNVML()
      loadFailure = nil
    } catch {
      library = nil
      loadFailure = "\(error)"
    }
  }

  public init(library: any NVMLLibrary) {
    self.library = library
    self.loadFailure = nil
  }

  public func availability() -> MeterAvailability {
    guard let library else { return .unavailable(reason: loadFailure ?? "NVML not loaded") }
    do {
      let devices = try library.devices()
      guard !devices.isEmpty else { return .unavailable(reason: "NVML reports no GPU") }
      for index in devices.indices { _ = try library.totalEnergyMillijoules(device: index) }
      return .available(
        devices.enumerated().map { "gpu-\($0.offset) (\($0.element))" }.joined(separator: ", "))
    } catch {
      return .unavailable(reason: "\(error)")
    }
  }

  public func read() throws -> [EnergyCounter] {
    guard let library else {
      throw EnergyError.meterUnavailable(meter: name, reason: loadFailure ?? "NVML not loaded")
    }
    return try library.devices().indices.map { index in
      EnergyCounter(
        domain: "gpu-\(index)", microjoules: try library.totalEnergyMillijoules(device: index) * 1000)
    }
  }
}

/// NVML loaded with dlopen; symbols resolved once.
final class DynamicNVML: NVMLLibrary, @unchecked Sendable {
  private typealias InitFn = @convention(c) () -> Int32
  private typealias CountFn = @convention(c) (UnsafeMutablePointer<UInt32>) -> Int32
  private typealias HandleFn = @convention(c) (UInt32, UnsafeMutablePointer<OpaquePointer?>) -> Int32
  private typealias EnergyFn = @convention(c) (OpaquePointer?, UnsafeMutablePointer<UInt64>) -> Int32
  private typealias NameFn = @convention(c) (OpaquePointer?, UnsafeMutablePointer<CChar>, UInt32) -> Int32

  private let count: CountFn
  private let handle: HandleFn
  private let energy: EnergyFn
  private let nameOf: NameFn

  init(path: String = "libnvidia-ml.so.1") throws {
    guard let lib = dlopen(path, RTLD_NOW) else {
      throw EnergyError.meterUnavailable(meter: "NVML", reason: "\(path) not found (no NVIDIA driver)")
    }
    func symbol<T>(_ name: String, _: T.Type) throws -> T {
      guard let pointer = dlsym(lib, name) else {
        throw EnergyError.meterUnavailable(meter: "NVML", reason: "\(path) lacks \(name)")
      }
      return unsafeBitCast(pointer, to: T.self)
    }
    let initialise = try symbol("nvmlInit_v2", InitFn.self)
    count = try symbol("nvmlDeviceGetCount_v2", CountFn.self)
    handle = try symbol("nvmlDeviceGetHandleByIndex_v2", HandleFn.self)
    energy = try symbol("nvmlDeviceGetTotalEnergyConsumption", EnergyFn.self)
    nameOf = try symbol("nvmlDeviceGetName", NameFn.self)
    let status = initialise()
    guard status == 0 else {
      throw EnergyError.meterUnavailable(meter: "NVML", reason: "nvmlInit_v2 returned \(status)")
    }
  }

  private func check(_ status: Int32, _ call: String) throws {
    guard status == 0 else {
      let reason = status == 3 ? "not supported on this GPU (needs Volta or newer)" : "error \(status)"
      throw EnergyError.meterUnavailable(meter: "NVML", reason: "\(call): \(reason)")
    }
  }

  private func device(_ index: Int) throws -> OpaquePointer? {
    var device: OpaquePointer?
    try check(handle(UInt32(index), &device), "nvmlDeviceGetHandleByIndex_v2")
    return device
  }

  func devices() throws -> [String] {
    var n: UInt32 = 0
    try check(count(&n), "nvmlDeviceGetCount_v2")
    return try (0..<Int(n)).map { index in
      var buffer = [CChar](repeating: 0, count: 96)
      try check(nameOf(try device(index), &buffer, 96), "nvmlDeviceGetName")
      return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
  }

  func totalEnergyMillijoules(device index: Int) throws -> UInt64 {
    var millijoules: UInt64 = 0
    try check(energy(try device(index), &millijoules), "nvmlDeviceGetTotalEnergyConsumption")
    return millijoules
  }
}
