#!/usr/bin/env python3
"""Conformance sweep (issue 20): every ONNX model with stored inputs/outputs found here (NAME.onnx beside
NAME.io.safetensors: Tests/Fixtures/onnx-coverage, ../shared/fixtures/onnx, any folder given) runs
through `prunekit run` and through onnxruntime; each answer is compared with the stored outputs.

Per runtime and model: pass (every output within atol 1e-4 + rtol 1e-4; integers and bools exact;
NaN where NaN), wrong (ran, differs), refused (a clean error), crashed (a signal, "Fatal error", or no
exit within the timeout). Prints one line per model and the counts side by side.

    swift build -c release && python3 scripts/onnx_conformance.py [--prunekit .build/release/prunekit] [FOLDER…]
"""
import argparse
import glob
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(__file__))
from safetensors_io import read_safetensors  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), ".."))
DEFAULT_FOLDERS = [os.path.join(ROOT, "Tests", "Fixtures", "onnx-coverage"),
                   os.path.join(ROOT, "..", "shared", "fixtures", "onnx")]


def close(actual, expected):
    actual, expected = np.asarray(actual), np.asarray(expected)
    if actual.shape != expected.shape:
        return False
    if expected.dtype.kind in "iub":
        return np.array_equal(actual.astype(expected.dtype), expected)
    a, e = actual.astype(np.float64), expected.astype(np.float64)
    return bool(np.all(np.isclose(a, e, atol=1e-4, rtol=1e-4, equal_nan=True)))


def verdict(outputs, expected):
    return "pass" if all(n in outputs and close(outputs[n], expected[n]) for n in expected) else "wrong"


def run_onnxruntime(model_path, feeds, expected):
    import ml_dtypes
    try:
        sess = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
        values = {n: (ort.OrtValue.ortvalue_from_numpy_with_onnx_type(a.view(np.uint16), onnx.TensorProto.BFLOAT16)
                      if a.dtype == ml_dtypes.bfloat16 else ort.OrtValue.ortvalue_from_numpy(a)) for n, a in feeds.items()}
        names = [o.name for o in sess.get_outputs()]
        results = sess.run_with_ort_values(names, values)
        outputs = {}
        for n, r in zip(names, results):
            try:
                outputs[n] = r.numpy()
            except Exception:  # bfloat16 has no numpy type in onnxruntime's API
                outputs[n] = None
        if any(v is None for v in outputs.values()):
            return "refused", "an output type the Python API cannot read"
        return verdict(outputs, expected), ""
    except Exception as error:  # onnxruntime reports refusals as exceptions
        return "refused", str(error).splitlines()[0][:160]


def run_prunekit(prunekit, model_path, io_path, expected, timeout):
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "out.safetensors")
        try:
            r = subprocess.run([prunekit, "run", model_path, "--input", io_path, "-o", out],
                               capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return "crashed", f"no exit within {timeout} s"
        text = r.stdout + r.stderr
        if r.returncode < 0 or r.returncode >= 128 or "Fatal error" in text:
            return "crashed", text.strip().splitlines()[-1][:160] if text.strip() else f"exit {r.returncode}"
        if r.returncode != 0:
            return "refused", text.strip().splitlines()[-1][:160]
        return verdict(read_safetensors(out), expected), ""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", default=DEFAULT_FOLDERS)
    parser.add_argument("--prunekit", default=os.path.join(ROOT, ".build", "release", "prunekit"))
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args()
    models = sorted(p for folder in args.folders for p in glob.glob(os.path.join(folder, "*.onnx"))
                    if os.path.exists(p[:-5] + ".io.safetensors"))
    counts = {"prunekit": {}, "onnxruntime": {}}
    for model_path in models:
        io_path = model_path[:-5] + ".io.safetensors"
        proto = onnx.load(model_path, load_external_data=False)
        initializers = {t.name for t in proto.graph.initializer}
        stored = read_safetensors(io_path)
        inputs = [i.name for i in proto.graph.input if i.name not in initializers]
        outputs = [o.name for o in proto.graph.output]
        feeds = {n: stored[n] for n in inputs if n in stored}
        expected = {n: stored[n] for n in outputs if n in stored}
        if len(feeds) != len(inputs) or not expected:
            print(f"skip {os.path.relpath(model_path)}: stored tensors do not name its inputs/outputs")
            continue
        ours = run_prunekit(args.prunekit, model_path, io_path, expected, args.timeout)
        theirs = run_onnxruntime(model_path, feeds, expected)
        for runtime, (result, _) in (("prunekit", ours), ("onnxruntime", theirs)):
            counts[runtime][result] = counts[runtime].get(result, 0) + 1
        detail = "; ".join(f"{who}: {why}" for who, (_, why) in (("prunekit", ours), ("onnxruntime", theirs)) if why)
        print(f"{os.path.relpath(model_path):70s} prunekit {ours[0]:8s} onnxruntime {theirs[0]:8s} {detail}")
    print()
    print(f"{'':12s} {'pass':>6s} {'wrong':>6s} {'refused':>8s} {'crashed':>8s}   ({len(models)} models)")
    for runtime in ("prunekit", "onnxruntime"):
        c = counts[runtime]
        print(f"{runtime:12s} {c.get('pass', 0):6d} {c.get('wrong', 0):6d} {c.get('refused', 0):8d} {c.get('crashed', 0):8d}")
    bad = counts["prunekit"].get("wrong", 0) + counts["prunekit"].get("crashed", 0)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
