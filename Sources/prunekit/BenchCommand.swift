import ArgumentParser

/// `prunekit bench …`: benchmarks that print a comparison table. One file per benchmark subcommand
/// (`BenchKernelsCommand.swift`, …); register each here.
struct BenchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench", abstract: "Measure PruneKit's speed next to a peer, in the same run.",
    discussion: """
      `prunekit bench MODEL …` benchmarks models (the `model` subcommand); `bench kernels` times the \
      GEMM and sparse kernels against numpy/OpenBLAS; `bench minilm` times MiniLM against \
      onnxruntime. Every table gives medians with their spread and the ratio to the peer.

      Examples:
        prunekit bench model.onnx --batch 1,64
        prunekit bench kernels --sizes 1024
        prunekit bench minilm --repeats 10
      """,
    subcommands: [
      BenchModelCommand.self,
      BenchKernelsCommand.self,
      BenchMiniLMCommand.self,
      BenchTrainStepCommand.self,
    ],
    defaultSubcommand: BenchModelCommand.self)
}
