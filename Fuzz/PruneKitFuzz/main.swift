// libFuzzer driver for PruneKit's parsers (issue 15). Built and run by scripts/fuzz.sh:
//   PRUNEKIT_FUZZ=1 swift build -c release --build-path .build-fuzz --product prunekit-fuzz \
//     -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing
// PRUNEKIT_FUZZ_TARGET chooses the parser (`FuzzTarget`); PRUNEKIT_FUZZ_SEEDS=DIR writes the
// synthetic seeds (small models built with PruneKit's own writers) under DIR/<target>/ and exits.
// SwiftPM gives an executable its own `main`, so libFuzzer is entered through LLVMFuzzerRunDriver.
import Foundation

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
  _ argc: UnsafeMutablePointer<CInt>,
  _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
  _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

let environment = ProcessInfo.processInfo.environment
if let folder = environment["PRUNEKIT_FUZZ_SEEDS"] {
  do {
    try FuzzSeeds.write(to: folder)
    exit(0)
  } catch {
    FileHandle.standardError.write(Data("seeds: \(error)\n".utf8))
    exit(1)
  }
}
guard let target = FuzzTarget(rawValue: environment["PRUNEKIT_FUZZ_TARGET"] ?? "") else {
  FileHandle.standardError.write(
    Data("PRUNEKIT_FUZZ_TARGET must be one of \(FuzzTarget.allCases.map(\.rawValue))\n".utf8))
  exit(2)
}
nonisolated(unsafe) var selected = target
var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
exit(
  LLVMFuzzerRunDriver(&argc, &argv) { data, size in
    fuzzOne(selected, size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
  })
