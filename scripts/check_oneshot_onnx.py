#!/usr/bin/env python3
"""Runs pruned MiniLM exports in onnxruntime: each must load, run on a few tokenized tweets and give
finite outputs; prints the zero fraction of the 36 encoder Linear weights (MatMul initializers) and the
embedding cosine to the dense model. Usage: scripts/check_oneshot_onnx.py PRUNED.onnx [...]"""
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

DENSE = "../shared/models/all-MiniLM-L6-v2/onnx/model.onnx"
# Token ids of two short sentences ([CLS] … [SEP]) from the model's own vocabulary, padded.
IDS = np.array([[101, 7592, 2088, 2003, 2204, 102, 0], [101, 1996, 3462, 2001, 2397, 2004, 102]], dtype=np.int64)
MASK = (IDS != 0).astype(np.int64)
FEED = {"input_ids": IDS, "attention_mask": MASK, "token_type_ids": np.zeros_like(IDS)}


def embed(path):
    out = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(["last_hidden_state"], FEED)[0]
    e = (out * MASK[..., None]).sum(1) / MASK.sum(1, keepdims=True)
    return e / np.linalg.norm(e, axis=1, keepdims=True)


dense = embed(DENSE)
failed = False
for path in sys.argv[1:]:
    model = onnx.load(path)
    matmul_weights = {n.input[1] for n in model.graph.node if n.op_type == "MatMul"}
    weights = [numpy_helper.to_array(i) for i in model.graph.initializer if i.name in matmul_weights]
    zeros = sum(int((w == 0).sum()) for w in weights) / max(1, sum(w.size for w in weights))
    e = embed(path)
    ok = np.isfinite(e).all()
    failed |= not ok
    print(f"{path}: {len(weights)} Linear weights, {100 * zeros:.2f}% zero, cosine to dense "
          f"{(e * dense).sum(1).round(4).tolist()}, {'ok' if ok else 'NOT FINITE'}")
sys.exit(1 if failed else 0)
