"""Writes Tests/TrainingTests/Golden/minilm_grad.json: PyTorch's gradients of all-MiniLM-L6-v2 (the
ONNX export, run by scripts/onnx_torch.py) on one small batch, for the whole-model gradient test.

Loss: L = Σ_i R_i · last_hidden_state_i with R_i = sin(0.37·i + 0.1) (float64 → float32, row-major),
so the Swift test builds the same seed without a random generator. Stored per float initializer:
the gradient's L2 norm; for a few tensors also the first 8 values of a chosen row.
Run: python3 scripts/make_minilm_grad_golden.py [../shared/models/all-MiniLM-L6-v2/onnx/model.onnx]
"""
import json
import sys

import numpy as np
import torch

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from onnx_torch import OnnxModule  # noqa: E402

path = sys.argv[1] if len(sys.argv) > 1 else "../shared/models/all-MiniLM-L6-v2/onnx/model.onnx"
torch.manual_seed(0)
ids = [[101, 7592, 2088, 999, 102, 0, 0], [101, 2023, 2003, 1037, 3231, 6251, 102]]
mask = [[1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1, 1]]
feed = {
    "input_ids": torch.tensor(ids, dtype=torch.int64),
    "attention_mask": torch.tensor(mask, dtype=torch.int64),
    "token_type_ids": torch.zeros(2, 7, dtype=torch.int64),
}
model = OnnxModule(path).double()
(hidden,) = model(feed)
r = torch.from_numpy(np.sin(0.37 * np.arange(hidden.numel()) + 0.1).astype(np.float32).astype(np.float64))
loss = (hidden.reshape(-1) * r).sum()
loss.backward()
rows = {
    "m.embeddings.word_embeddings.weight": 7592,
    "m.embeddings.position_embeddings.weight": 3,
    "m.encoder.layer.0.attention.self.query.weight": 5,
    "m.encoder.layer.3.intermediate.dense.weight": 17,
    "m.encoder.layer.5.output.LayerNorm.weight": 0,
}
norms, slices = {}, {}
for name in model.names:
    g = model.parameter(name).grad
    norms[name] = float(g.norm()) if g is not None else 0.0
    if name in rows:
        gr = g if g.dim() == 2 else g.reshape(1, -1)
        slices[name] = {"row": rows[name] if g.dim() == 2 else 0, "values": [float(v) for v in gr[rows[name] if g.dim() == 2 else 0][:8]]}
out = {
    "model": "all-MiniLM-L6-v2 (onnx/model.onnx)",
    "input_ids": ids, "attention_mask": mask,
    "loss": float(loss), "seed": "R_i = sin(0.37*i + 0.1) as float32",
    "reference": "torch %s float64 autograd" % torch.__version__,
    "gradient_norms": norms, "gradient_slices": slices,
}
target = __file__.rsplit("/", 2)[0] + "/Tests/TrainingTests/Golden/minilm_grad.json"
with open(target, "w") as f:
    json.dump(out, f, indent=1, sort_keys=True)
print("wrote", target, "loss", float(loss))
