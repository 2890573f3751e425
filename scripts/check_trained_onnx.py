"""Runs a model saved by `prunekit train` in onnxruntime on the MNIST-format test set and prints its
test error, to compare with the error prunekit printed (not part of CI).

Usage: python3 scripts/check_trained_onnx.py MODEL.onnx [DATA_DIR]   (default DATA_DIR: Data/mnist)
Preprocessing, as documented in `prunekit train --help`: x = (pixel/255 - 0.1307) / 0.3081, [N, 1, 28, 28].
"""
import gzip
import os
import sys

import numpy as np
import onnxruntime as ort


def read_idx(folder, stem, kind):
    for name in (f"{stem}-{kind}", f"{stem}.{kind}"):
        for suffix in ("", ".gz"):
            path = os.path.join(folder, name + suffix)
            if os.path.exists(path):
                data = (gzip.open if suffix else open)(path, "rb").read()
                rank = data[3]
                dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
                return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)
    raise FileNotFoundError(f"{folder}/{stem}-{kind}[.gz]")


model = sys.argv[1]
folder = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..", "Data", "mnist")
images = read_idx(folder, "t10k-images", "idx3-ubyte").astype(np.float32)
labels = read_idx(folder, "t10k-labels", "idx1-ubyte").astype(np.int64)
x = ((images / 255.0 - 0.1307) / 0.3081).astype(np.float32)[:, None, :, :]
session = ort.InferenceSession(model)
logits = np.concatenate([session.run(None, {"input": x[i:i + 1000]})[0] for i in range(0, len(x), 1000)])
wrong = int((logits.argmax(1) != labels).sum())
print(f"{model}: onnxruntime test error {100 * wrong / len(labels):.2f}% ({len(labels) - wrong}/{len(labels)} correct)")
