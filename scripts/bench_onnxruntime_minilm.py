#!/usr/bin/env python3
"""onnxruntime peer for `prunekit bench minilm`: same model, same inputs, same thread count.

Reads input_ids / attention_mask / token_type_ids as raw little-endian int64 files of shape
[batch, sequence], writes last_hidden_state as raw float32 (so the caller can compare outputs
before it trusts the timing), then times `repeats` runs after one warm-up and prints one JSON line:
{"engine": "onnxruntime 1.x", "threads": 2, "times_ms": [...], "median_ms": ..., "min_ms": ...}

Exit status 3 when onnxruntime is not installed (the caller then skips the comparison).
"""
import argparse
import json
import statistics
import sys
import time

try:
    import numpy as np
    import onnxruntime as ort
except ImportError:
    sys.exit(3)

parser = argparse.ArgumentParser()
parser.add_argument("--model", required=True)
parser.add_argument("--inputs", required=True, help="folder with input_ids.bin, attention_mask.bin, token_type_ids.bin")
parser.add_argument("--batch", type=int, required=True)
parser.add_argument("--sequence", type=int, required=True)
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--repeats", type=int, default=5)
parser.add_argument("--output", required=True, help="raw float32 last_hidden_state is written here")
args = parser.parse_args()

options = ort.SessionOptions()
options.intra_op_num_threads = args.threads
options.inter_op_num_threads = 1
options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
session = ort.InferenceSession(args.model, options, providers=["CPUExecutionProvider"])
feeds = {}
for name in ["input_ids", "attention_mask", "token_type_ids"]:
    feeds[name] = np.fromfile(f"{args.inputs}/{name}.bin", dtype="<i8").reshape(args.batch, args.sequence)
output = session.run(["last_hidden_state"], feeds)[0]
output.astype("<f4").tofile(args.output)
times = []
for _ in range(args.repeats):
    start = time.perf_counter()
    session.run(["last_hidden_state"], feeds)
    times.append((time.perf_counter() - start) * 1000)
print(json.dumps({"engine": f"onnxruntime {ort.__version__}", "threads": args.threads, "times_ms": times,
                  "median_ms": statistics.median(times), "min_ms": min(times)}))
