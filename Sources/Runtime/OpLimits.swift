/// Documented limits of the ops the executor runs, for the generated op table (docs/onnx-ops.md,
/// made by scripts/make_onnx_ops_table.py from `prunekit version --ops`). One line per op whose
/// kernel refuses part of the ONNX spec (each refusal is a clear error naming node and attribute);
/// ops not listed here run their whole spec on the dtypes of DESIGN.md (Float32 compute for floats,
/// Int64 for integers, bool).
public enum OpLimits {
  public static let notes: [String: String] = [
    "Attention": "no qk_matmul_output, no nonpad_kv_seqlen input",
    "BatchNormalization": "inference only (training_mode = 0, no running mean/var outputs)",
    "LayerNormalization": "no Mean/InvStdDev outputs",
    "MaxPool": "no Indices output, storage_order 0",
    "Mod": "fmod = 1 on floats only",
    "Pad": "modes constant/reflect/edge/wrap",
    "Resize": "no antialias; the modes and coordinate transforms of the kernel's list",
    "Cast": "no string, 4/6/8-bit float or 2/4-bit int targets",
    "SequenceEmpty": "sequences live inside the graph (not graph inputs/outputs)",
    "SequenceConstruct": "sequences live inside the graph (not graph inputs/outputs)",
    "SequenceInsert": "sequences live inside the graph (not graph inputs/outputs)",
    "SequenceErase": "sequences live inside the graph (not graph inputs/outputs)",
    "SplitToSequence": "sequences live inside the graph (not graph inputs/outputs)",
    "Conv": "3-D runs as depth taps over the 2-D kernel; > 3-D uses the direct scalar loop",
    "ConvTranspose": "3-D and up use a direct scalar loop",
    "AveragePool": "3-D and up use a direct scalar loop",
  ]

  /// `OPTYPE<TAB>first opset<TAB>last opset<TAB>limits` for every default-domain op of `table`, sorted.
  public static func listing(_ table: [OpKey: OpDefinition] = OpRegistry.standard) -> [String] {
    table.filter { $0.key.domain.isEmpty }.sorted { $0.key.opType < $1.key.opType }.map { key, definition in
      "\(key.opType)\t\(definition.opsets.lowerBound)\t\(definition.opsets.upperBound)\t\(notes[key.opType] ?? "")"
    }
  }
}
