import Foundation
import ModelGraph

/// File-level entry points used by `prunekit compress` / `decompress`.
///
/// `compressModel` reads any format `ModelFile` knows (or a `.pkz`, re-quantized from its decoded
/// weights), quantizes, and writes the `.pkz` atomically. `decompressModel` writes the decoded graph
/// through `ModelFile.save`, so the output's weights are the `.pkz`'s quantized weights, bit for bit.
@discardableResult
public func compressModel(
  at input: String, to output: String, options: CompressionOptions = CompressionOptions()
) throws -> (model: CompressedModel, report: PKZReport) {
  let graph =
    input.lowercased().hasSuffix(".pkz") ? try readPKZ(path: input).graph : try ModelFile.load(input)
  let model = quantize(graph, options: options)
  let report = try writePKZ(model, to: output, options: options)
  return (model, report)
}

@discardableResult
public func decompressModel(at input: String, to output: String) throws -> CompressedModel {
  let model = try readPKZ(path: input)
  try ModelFile.save(model.graph, to: output)
  return model
}
