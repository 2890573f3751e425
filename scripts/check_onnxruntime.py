#!/usr/bin/env python3
"""Checks that ONNX files exported by PruneKit load in onnxruntime and give the original's outputs.

For each model: `prunekit convert` writes it back out (inline, and with external data), onnx.checker
validates the result, and onnxruntime runs original and export on the same inputs; the maximum absolute
difference of every output is printed (it should be 0: the export is the same graph and weights).
Not part of CI. Needs `pip install onnx onnxruntime numpy`; run from the package root after
`swift build --product prunekit`:  python3 scripts/check_onnxruntime.py [path/to/prunekit]"""
import json, os, struct, subprocess, sys, tempfile
import numpy as np, onnx, onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import read_safetensors  # noqa: E402

PRUNEKIT = sys.argv[1] if len(sys.argv) > 1 else ".build/debug/prunekit"
FIXTURES = "../shared/fixtures/onnx"
MINILM = "../shared/models/all-MiniLM-L6-v2"

def run(path, feeds):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds)))

def check(name, original, feeds, folder):
    ok = True
    for variant, extra in [("inline", []), ("external", ["--external-data", name + ".data"])]:
        exported = os.path.join(folder, f"{name}-{variant}.onnx")
        subprocess.run([PRUNEKIT, "convert", original, "-o", exported] + extra, check=True,
                       stdout=subprocess.DEVNULL)
        onnx.checker.check_model(exported)  # a path: external data is resolved beside it
        want, got = run(original, feeds), run(exported, feeds)
        for key in want:
            diff = float(np.max(np.abs(want[key].astype(np.float64) - got[key].astype(np.float64))))
            ok &= diff == 0.0
            print(f"{name:9s} {variant:8s} {key:18s} shape {list(got[key].shape)}  max |diff| = {diff:.3g}")
    return ok

def main():
    ok = True
    with tempfile.TemporaryDirectory() as folder:
        for name in ["mlp", "lenet5", "resblock"]:
            io = read_safetensors(f"{FIXTURES}/{name}.io.safetensors")
            ok &= check(name, f"{FIXTURES}/{name}.onnx", {"input": io["input"]}, folder)
        ref = read_safetensors(f"{MINILM}/reference.safetensors")
        feeds = {k: ref[k][:8].astype(np.int64) for k in ["input_ids", "attention_mask", "token_type_ids"]}
        ok &= check("minilm", f"{MINILM}/onnx/model.onnx", feeds, folder)
    print("onnxruntime", ort.__version__, "onnx", onnx.__version__, "->", "PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)

if __name__ == "__main__":
    main()
