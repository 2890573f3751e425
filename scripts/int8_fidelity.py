#!/usr/bin/env python3
"""Embedding fidelity of int8 models against their Float32 model, for PruneKit and onnxruntime on the
same inputs: mean-pooled (attention-masked) last_hidden_state, cosine per sentence, mean and min.

    python3 scripts/int8_fidelity.py .build/release/prunekit FP32.onnx OURS_INT8.onnx ORT_INT8.onnx \
        [--batch 32] [--sequence 64] [--seed 1] [--texts-ids FILE.safetensors]

Inputs: seeded random token ids in 1000..<30000 (full masks) unless --texts-ids gives real tokenized
sentences (input_ids, attention_mask, token_type_ids). PruneKit runs through `prunekit run`.
Reference values only: the product never runs Python.
"""
import argparse, os, subprocess, sys, tempfile
import numpy as np
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import read_safetensors, write_safetensors  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("prunekit")
p.add_argument("fp32")
p.add_argument("models", nargs="+", help="int8 models to compare with fp32")
p.add_argument("--batch", type=int, default=32)
p.add_argument("--sequence", type=int, default=64)
p.add_argument("--seed", type=int, default=1)
p.add_argument("--texts-ids")
a = p.parse_args()

if a.texts_ids:
    feeds = read_safetensors(a.texts_ids)
else:
    rng = np.random.default_rng(a.seed)
    ids = rng.integers(1000, 30000, size=(a.batch, a.sequence)).astype(np.int64)
    ids[:, 0], ids[:, -1] = 101, 102
    feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
mask = feeds["attention_mask"].astype(np.float32)


def pooled(h):
    h = h.astype(np.float64)
    return (h * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)


def cos(x, y):
    return (x * y).sum(1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1))


def onnxruntime(model):
    s = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    return s.run([s.get_outputs()[0].name], {i.name: feeds[i.name] for i in s.get_inputs()})[0]


with tempfile.TemporaryDirectory() as d:
    inp = os.path.join(d, "in.safetensors")
    write_safetensors(inp, feeds)

    def prunekit(model):
        out = os.path.join(d, "out.safetensors")
        subprocess.run([a.prunekit, "run", model, "--input", inp, "-o", out], check=True, stdout=subprocess.DEVNULL)
        t = read_safetensors(out)
        return t.get("last_hidden_state", next(iter(t.values())))

    ref = {"PruneKit": pooled(prunekit(a.fp32)), "onnxruntime": pooled(onnxruntime(a.fp32))}
    print(f"inputs: {'tokenized texts' if a.texts_ids else 'seeded random token ids'} {mask.shape}")
    for model in a.models:
        for engine, run in (("PruneKit", prunekit), ("onnxruntime", onnxruntime)):
            c = cos(pooled(run(model)), ref[engine])
            print(f"{os.path.basename(model):32s} {engine:12s} cosine to its fp32: mean {c.mean():.5f} min {c.min():.5f}")
