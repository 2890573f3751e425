#!/usr/bin/env python3
"""onnxruntime peer for `prunekit bench MODEL`: the same model (as ONNX), the same inputs, the same
thread count, in the same run.

Reads the inputs from a safetensors file, writes the first output to a safetensors file (so the caller
can check agreement before it trusts the timing), then times runs after one warm-up (at least
--min-runs and --min-seconds) and prints one JSON line with the per-run times in milliseconds.
Exit status 3 when onnxruntime or numpy is not installed (the caller then skips the column).
"""
import argparse
import json
import os
import sys
import time

try:
    import numpy as np
    import onnxruntime as ort
except ImportError:
    sys.exit(3)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import read_safetensors, write_safetensors  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--model", required=True)
parser.add_argument("--inputs", required=True, help="safetensors file with one tensor per model input")
parser.add_argument("--output", required=True, help="safetensors file the first output is written to")
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--min-runs", type=int, default=10)
parser.add_argument("--min-seconds", type=float, default=0.5)
args = parser.parse_args()

options = ort.SessionOptions()
options.intra_op_num_threads = args.threads
options.inter_op_num_threads = 1
options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
session = ort.InferenceSession(args.model, options, providers=["CPUExecutionProvider"])
feeds = read_safetensors(args.inputs)
feeds = {i.name: feeds[i.name] for i in session.get_inputs()}
first = session.get_outputs()[0].name
result = session.run([first], feeds)[0]
write_safetensors(args.output, {first: np.asarray(result, dtype=np.float32)})
times = []
start = time.perf_counter()
while True:
    t0 = time.perf_counter()
    session.run([first], feeds)
    t1 = time.perf_counter()
    times.append((t1 - t0) * 1000)
    if len(times) >= args.min_runs and t1 - start >= args.min_seconds:
        break
print(json.dumps({"engine": f"onnxruntime {ort.__version__}", "threads": args.threads, "output": first,
                  "times_ms": times}))
