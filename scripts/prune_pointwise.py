#!/usr/bin/env python3
"""Magnitude-prunes the 1×1 convolutions (group 1) of an ONNX model, layer by layer, and writes the
result: the benchmark model for sparse 1×1 convolutions (`prunekit bench`), as in Elsen et al. 2020
where only the pointwise layers of a MobileNet are sparse. Other weights are left dense.

usage: prune_pointwise.py IN.onnx OUT.onnx [--sparsity 0.9]
Needs `pip install onnx numpy`. Not part of the product (PruneKit's own `prune` prunes every layer).
"""
import argparse

import numpy as np
import onnx
from onnx import numpy_helper

parser = argparse.ArgumentParser()
parser.add_argument("input")
parser.add_argument("output")
parser.add_argument("--sparsity", type=float, default=0.9)
args = parser.parse_args()
if not 0 <= args.sparsity < 1:
    raise SystemExit("--sparsity must be in [0, 1)")

model = onnx.load(args.input)
inits = {t.name: t for t in model.graph.initializer}
pruned = 0
for node in model.graph.node:
    if node.op_type != "Conv" or len(node.input) < 2 or node.input[1] not in inits:
        continue
    group = next((a.i for a in node.attribute if a.name == "group"), 1)
    w = numpy_helper.to_array(inits[node.input[1]]).copy()
    if group != 1 or w.ndim < 3 or any(d != 1 for d in w.shape[2:]):
        continue
    k = int(w.size * args.sparsity)
    if k > 0:
        threshold = np.sort(np.abs(w).ravel())[k - 1]
        w[np.abs(w) <= threshold] = 0
    inits[node.input[1]].CopyFrom(numpy_helper.from_array(w.astype(np.float32), node.input[1]))
    pruned += 1
onnx.save(model, args.output)
print(f"pruned {pruned} 1x1 convolutions to {args.sparsity:.0%}; wrote {args.output}")
