// libFuzzer entry point for PruneKit's parsers (issue 15). Built and run by scripts/fuzz.sh:
//   PRUNEKIT_FUZZ=1 swift build -c release --build-path .build-fuzz --product prunekit-fuzz \
//     -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -enable-testing
// PRUNEKIT_FUZZ_TARGET chooses the parser (`FuzzTarget`); PRUNEKIT_FUZZ_SEEDS=DIR writes the
// synthetic seeds (small models built with PruneKit's own writers) under DIR/<target>/ and exits.
import Foundation
import ModelGraph

let target: FuzzTarget = {
  let name = ProcessInfo.processInfo.environment["PRUNEKIT_FUZZ_TARGET"] ?? ""
  guard let t = FuzzTarget(rawValue: name) else {
    FileHandle.standardError.write(
      Data("PRUNEKIT_FUZZ_TARGET must be one of \(FuzzTarget.allCases.map(\.rawValue))\n".utf8))
    exit(2)
  }
  return t
}()

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> CInt {
  if let folder = ProcessInfo.processInfo.environment["PRUNEKIT_FUZZ_SEEDS"] {
    do {
      try FuzzSeeds.write(to: folder)
      exit(0)
    } catch {
      FileHandle.standardError.write(Data("seeds: \(error)\n".utf8))
      exit(1)
    }
  }
  _ = target
  return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  fuzzOne(target, size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
  return 0
}
