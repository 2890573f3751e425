// swift-tools-version:6.0
import PackageDescription

// Every Swift target is compiled for a named x86-64 CPU: without `-target-cpu` the compiler lowers
// `addingProduct` to libm `fmaf` calls (0.8 GFLOP/s instead of ~100). `haswell` (AVX2 + FMA) is the
// baseline for the whole package; the AVX-512 micro-kernels live in their own target compiled for
// `znver4` and are only called after a CPUID check (see `CPUFeatures.swift`), so the binary never
// dies with SIGILL on a CPU without AVX-512.
// The int8 kernels reach `vpdpbusd` / `vpmaddwd` as LLVM intrinsics through the Swift `Builtin` module
// (TensorCore/Int8, TensorCoreAVX512/Int8KernelVNNI.swift say why); only these two targets import it.
let builtin: [SwiftSetting] = [.enableExperimentalFeature("BuiltinModule")]
let baseline: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"])]
let avx512: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "znver4"])]

let package = Package(
  name: "PruneKit",
  products: [
    .library(name: "PruneKit", targets: ["PruneKit"]),
    .executable(name: "prunekit", targets: ["prunekit"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
  ],
  targets: [
    .target(name: "TensorCoreAVX512", swiftSettings: avx512 + builtin),
    .target(
      name: "TensorCore",
      dependencies: ["TensorCoreAVX512", .product(name: "Numerics", package: "swift-numerics")],
      swiftSettings: baseline + builtin),
    .target(
      name: "ModelGraph",
      dependencies: ["TensorCore", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
      swiftSettings: baseline),
    .target(name: "Runtime", dependencies: ["ModelGraph"], swiftSettings: baseline),
    .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
    .target(name: "Training", dependencies: ["Runtime", "CZlib"], swiftSettings: baseline),
    .target(name: "Pruning", dependencies: ["Runtime"], swiftSettings: baseline),
    .target(name: "Compression", dependencies: ["Runtime"], swiftSettings: baseline),
    .target(
      name: "Energy", dependencies: ["ModelGraph"], resources: [.process("Resources")],
      swiftSettings: baseline),
    .target(name: "Evaluation", dependencies: ["Runtime", "Energy"], swiftSettings: baseline),
    .target(name: "Report", swiftSettings: baseline),
    .target(
      name: "PruneKit",
      dependencies: [
        "TensorCore", "ModelGraph", "Runtime", "Training", "Pruning", "Compression", "Energy",
        "Evaluation", "Report",
      ],
      swiftSettings: baseline),
    .executableTarget(
      name: "prunekit",
      dependencies: ["PruneKit", .product(name: "ArgumentParser", package: "swift-argument-parser")],
      swiftSettings: baseline),
    .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore"], swiftSettings: baseline),
    // The BERT loader and the ONNX exporter are checked by running what they build.
    .testTarget(name: "ModelGraphTests", dependencies: ["ModelGraph", "Runtime"], swiftSettings: baseline),
    .testTarget(name: "RuntimeTests", dependencies: ["Runtime"], swiftSettings: baseline),
    .testTarget(
      name: "TrainingTests", dependencies: ["Training"], exclude: ["Fixtures", "Golden"], swiftSettings: baseline),
    .testTarget(name: "EnergyTests", dependencies: ["Energy"], swiftSettings: baseline),
    .testTarget(name: "ReportTests", dependencies: ["Report"], swiftSettings: baseline),
    .testTarget(name: "EvaluationTests", dependencies: ["Evaluation"], swiftSettings: baseline),
    .testTarget(
      name: "PruningTests", dependencies: ["Pruning", "Runtime", "ModelGraph", "TensorCore"],
      swiftSettings: baseline),
    .testTarget(name: "CompressionTests", dependencies: ["Compression"], swiftSettings: baseline),
    .testTarget(name: "PruneKitTests", dependencies: ["PruneKit"], swiftSettings: baseline),
    // Replays every fuzzing crash reproducer (Reproducers/<target>/) through the fuzzed parsers.
    .testTarget(
      name: "FuzzRegressionTests", dependencies: ["Runtime", "Compression", "ModelGraph", "Training"],
      exclude: ["Reproducers"], swiftSettings: baseline),
    // End-to-end: runs the built `prunekit` executable (hostile options, files and output paths).
    .testTarget(name: "PruneKitCLITests", dependencies: ["PruneKit", "prunekit"], swiftSettings: baseline),
    // Test targets of the other modules are added with their first tests:
    // .testTarget(name: "XTests", dependencies: ["X"], swiftSettings: baseline),
  ]
)

// The libFuzzer harness (scripts/fuzz.sh), only when PRUNEKIT_FUZZ is set: it must be built with
// -sanitize=fuzzer,address -parse-as-library, which an ordinary build does not pass.
if Context.environment["PRUNEKIT_FUZZ"] != nil {
  package.products.append(.executable(name: "prunekit-fuzz", targets: ["PruneKitFuzz"]))
  package.targets.append(
    .executableTarget(
      name: "PruneKitFuzz", dependencies: ["Runtime", "Compression", "ModelGraph", "Training"],
      path: "Fuzz/PruneKitFuzz", swiftSettings: baseline))
}
