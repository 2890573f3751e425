#!/usr/bin/env python3
"""Writes Tests/Data/onnx_reference.json: for each ONNX model the tests import, what the `onnx`
package reads from it (op counts, initializer shapes/dtypes, Constant nodes, inputs/outputs, opset).
Run from the package root: `pip install onnx && python3 scripts/onnx_reference_counts.py`."""
import collections, json, onnx

MODELS = {
    "mlp": "../shared/fixtures/onnx/mlp.onnx",
    "lenet5": "../shared/fixtures/onnx/lenet5.onnx",
    "resblock": "../shared/fixtures/onnx/resblock.onnx",
    "minilm": "../shared/models/all-MiniLM-L6-v2/onnx/model.onnx",
}

def dims(value):
    return [d.dim_param if d.HasField("dim_param") else d.dim_value
            for d in value.type.tensor_type.shape.dim]

out = {}
for key, path in MODELS.items():
    m = onnx.load(path)
    g = m.graph
    consts = [n for n in g.node if n.op_type == "Constant"]
    ops = collections.Counter(n.op_type for n in g.node if n.op_type != "Constant")
    out[key] = {
        "path": path,
        "opset": next(o.version for o in m.opset_import if o.domain in ("", "ai.onnx")),
        "op_counts": dict(sorted(ops.items())),
        "constant_nodes": len(consts),
        "initializers": {i.name: {"dims": list(i.dims), "data_type": i.data_type} for i in g.initializer},
        "constant_shapes": {n.output[0]: list(onnx.numpy_helper.to_array(n.attribute[0].t).shape)
                            for n in consts},
        "inputs": [{"name": i.name, "dims": dims(i)} for i in g.input],
        "outputs": [{"name": o.name, "dims": dims(o)} for o in g.output],
        "parameter_count": int(sum(onnx.numpy_helper.to_array(i).size for i in g.initializer)),
    }
with open("Tests/Data/onnx_reference.json", "w") as f:
    json.dump(out, f, indent=1, sort_keys=True)
    f.write("\n")
print("wrote Tests/Data/onnx_reference.json")
