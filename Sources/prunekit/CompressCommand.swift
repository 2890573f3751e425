import ArgumentParser
import Foundation
import PruneKit

/// `prunekit compress MODEL -o model.pkz`: Deep Compression (weight sharing or int8, sparse indices,
/// Huffman) into a checksummed `.pkz`; prints where every byte went.
struct CompressCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "compress",
    abstract: "Quantize and entropy-code a model's weights into a .pkz file.",
    usage: "prunekit compress <model> -o <file.pkz> [--bits <fc=N,conv=N>] [<options>]",
    discussion: """
      Weights of rank ≥ 2 are compressed: surviving (unmasked / non-zero) values are quantized, their \
      positions coded as relative gaps (with fillers) or CSR, whichever is smaller, and every stream \
      Huffman-coded when that is smaller. Defaults follow Han, Mao & Dally 2016: 8-bit codebooks and \
      4-bit gaps for conv layers, 5-bit codebooks and 5-bit gaps for FC layers. --bits sets the \
      k-means codebook size and is an error with --scheme int8 or float32 (their widths are fixed).

      Examples:
        prunekit compress pruned.onnx -o pruned.pkz
        prunekit compress pruned.onnx --bits fc=4,conv=8 -o small.pkz
        prunekit compress pruned.onnx --scheme int8 -o int8.pkz --json
      """)

  @Argument(help: "The model: .onnx (or any format prunekit loads), or a .pkz to re-encode.")
  var model: String

  @Option(name: .shortAndLong, help: "The output .pkz file (written atomically).")
  var output: String

  @Option(help: "k-means codebook bits per layer kind, e.g. fc=5,conv=8 (default fc=5,conv=8).")
  var bits: String?

  @Option(name: .customLong("index-bits"), help: "Relative-gap bits per layer kind, e.g. fc=5,conv=4.")
  var indexBits: String = "fc=5,conv=4"

  @Option(help: "Quantization scheme: kmeans, int8 or float32 (no quantization).")
  var scheme: String = "kmeans"

  @Flag(
    name: .customLong("no-huffman"), help: "Store streams in fixed width (the paper's quantized-only stage).")
  var noHuffman = false

  @Option(
    name: .customLong("min-elements"), parsing: .unconditional, help: "Weights with fewer elements stay raw.")
  var minElements = 64

  @OptionGroup var format: JSONOption

  @OptionGroup var verbosity: VerbosityOptions

  func validate() throws {
    try OptionCheck.int(minElements, "--min-elements", in: 0...Int(Int32.max))
    if bits != nil && scheme != "kmeans" {
      throw ValidationError(
        "--bits applies to --scheme kmeans only (\(scheme) stores \(scheme == "int8" ? 8 : 32)-bit values)")
    }
    _ = try CompressCommand.options(
      scheme: scheme, bits: bits ?? "fc=5,conv=8", indexBits: indexBits, huffman: !noHuffman,
      minElements: minElements)
    // The output is always a .pkz: `prunekit decompress` turns it back into ONNX or safetensors.
    try OptionCheck.output(
      output, inputs: [model], extensions: ["pkz"],
      hint: " (compress writes .pkz; `prunekit decompress` turns it back into .onnx or .safetensors)")
  }

  func run() throws {
    let options = try CompressCommand.options(
      scheme: scheme, bits: bits ?? "fc=5,conv=8", indexBits: indexBits, huffman: !noHuffman,
      minElements: minElements)
    let (graph, warnings) = try ModelFile.loadForCopying(model)
    for warning in warnings { note("warning: \(warning)") }
    let report = try writePKZ(quantize(graph, options: options), to: output, options: options)
    if format.json {
      return try JSONOutput.print(InspectCommand.CompressedSizes(report), command: "compress")
    }
    print(report.reportTable().text(rule: true), terminator: "")
    print("wrote \(output)")
  }

  static func options(
    scheme: String, bits: String, indexBits: String, huffman: Bool, minElements: Int
  ) throws -> CompressionOptions {
    guard let s = QuantizationScheme.allCases.first(where: { $0.description == scheme }) else {
      throw ValidationError("--scheme \(scheme): expected kmeans, int8 or float32")
    }
    var options = CompressionOptions(scheme: s, entropyCoding: huffman, minimumElements: minElements)
    options.bits = try parseKindBits(bits, flag: "--bits", range: 1...16, into: options.bits)
    options.indexBits = try parseKindBits(
      indexBits, flag: "--index-bits", range: 1...16, into: options.indexBits)
    return options
  }

  /// "fc=5,conv=8" → [.fullyConnected: 5, .convolution: 8].
  static func parseKindBits(
    _ text: String, flag: String, range: ClosedRange<Int>, into defaults: [LayerKind: Int]
  ) throws -> [LayerKind: Int] {
    var out = defaults
    for part in text.split(separator: ",") {
      let kv = part.split(separator: "=")
      guard kv.count == 2, let kind = LayerKind.allCases.first(where: { $0.description == kv[0] }),
        let n = Int(kv[1]), range.contains(n)
      else { throw ValidationError("\(flag) \(text): expected fc=N,conv=N with N in \(range)") }
      out[kind] = n
    }
    return out
  }
}
