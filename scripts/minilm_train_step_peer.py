"""PyTorch peer of `prunekit bench train-step`: one training step of all-MiniLM-L6-v2 (forward,
backward, AdamW update of every float weight) on the same token ids, timed on CPU.

The model is the ONNX export run eagerly with torch ops (scripts/onnx_torch.py), so both engines
train exactly the same graph. Loss: Σ_i R_i · last_hidden_state_i with R_i = sin(0.37·i + 0.1).
Prints JSON: engine, median_ms, min_ms, times_ms, loss (of the first step).
"""
import argparse
import json
import sys
import time

import numpy as np
import torch

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from onnx_torch import OnnxModule  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--model", required=True)
p.add_argument("--inputs", required=True, help="folder with input_ids.bin, attention_mask.bin, token_type_ids.bin (int64)")
p.add_argument("--batch", type=int, required=True)
p.add_argument("--sequence", type=int, required=True)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--repeats", type=int, default=3)
p.add_argument("--lr", type=float, default=1e-5)
a = p.parse_args()
torch.set_num_threads(a.threads)
feed = {}
for name in ["input_ids", "attention_mask", "token_type_ids"]:
    v = np.fromfile(f"{a.inputs}/{name}.bin", dtype=np.int64).reshape(a.batch, a.sequence)
    feed[name] = torch.from_numpy(v)
model = OnnxModule(a.model)
opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.01)
r = torch.from_numpy(np.sin(0.37 * np.arange(a.batch * a.sequence * 384) + 0.1).astype(np.float32))


def step():
    opt.zero_grad(set_to_none=True)
    (hidden,) = model(feed)
    loss = (hidden.reshape(-1) * r).sum()
    loss.backward()
    opt.step()
    return float(loss)


first = step()  # warm-up (also allocates the AdamW state)
times = []
for _ in range(a.repeats):
    t = time.perf_counter()
    step()
    times.append((time.perf_counter() - t) * 1000)
times_sorted = sorted(times)
print(json.dumps({
    "engine": f"PyTorch {torch.__version__} CPU (eager, AdamW)",
    "median_ms": times_sorted[len(times) // 2], "min_ms": times_sorted[0], "times_ms": times, "loss": first,
}))
