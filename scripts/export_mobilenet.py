#!/usr/bin/env python3
"""Exports torchvision's MobileNet-v2 (seeded random weights, 1000 classes, BatchNorm folded by the
exporter in eval mode) at 224×224 with a dynamic batch, for the sparse 1×1-convolution benchmark:

  python3 scripts/export_mobilenet.py /tmp/mobilenet_v2.onnx
  python3 scripts/prune_pointwise.py /tmp/mobilenet_v2.onnx /tmp/mobilenet_v2-pw90.onnx --sparsity 0.9
  prunekit bench /tmp/mobilenet_v2.onnx /tmp/mobilenet_v2-pw90.onnx --batch 1 --threads 1,2

Speed only: the weights are random, so the model's accuracy means nothing. Needs torch, torchvision,
onnx. Not part of the product.
"""
import sys

import torch
import torchvision.models as tvm

path = sys.argv[1] if len(sys.argv) > 1 else "/tmp/mobilenet_v2.onnx"
torch.manual_seed(0)
model = tvm.mobilenet_v2(num_classes=1000).eval()
x = torch.randn(1, 3, 224, 224)
with torch.no_grad():
    torch.onnx.export(model, (x,), path, input_names=["input"], output_names=["logits"], opset_version=17,
                      dynamo=False, dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
print("wrote", path)
