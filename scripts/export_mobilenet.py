#!/usr/bin/env python3
"""Exports torchvision's MobileNet-v2 (seeded random weights; no pretrained weights are downloaded)
with a dynamic batch.

Default: 224×224, 1000 classes, BatchNorm folded by the exporter in eval mode — the inference form,
for the sparse 1×1-convolution benchmark:

  python3 scripts/export_mobilenet.py /tmp/mobilenet_v2.onnx
  python3 scripts/prune_pointwise.py /tmp/mobilenet_v2.onnx /tmp/mobilenet_v2-pw90.onnx --sparsity 0.9
  prunekit bench /tmp/mobilenet_v2.onnx /tmp/mobilenet_v2-pw90.onnx --batch 1 --threads 1,2

For fine-tuning (scripts/finetune_mobilenet.sh) pass --size (any size ≥ 32 torchvision accepts) and
--keep-batchnorm: BatchNormalization nodes stay in the graph (PruneKit trains them with batch
statistics), as in the PyTorch model. The exporter then shares equal initializers through Identity
nodes (a fresh BatchNorm's weight and running variance are both ones); they are written back as
separate initializers so that every parameter is its own tensor.

  python3 scripts/export_mobilenet.py /tmp/mnv2-32.onnx --size 32 --keep-batchnorm
  python3 scripts/export_mobilenet.py /tmp/mnv3s.onnx --arch mobilenet_v3_small --size 32 --keep-batchnorm

Speed and training only: the weights are random, so the model's accuracy on ImageNet means nothing.
Needs torch, torchvision, onnx. Not part of the product.
"""
import argparse
import sys
import types

import torch

# The CPU torch wheel may come with a CUDA-built torchvision whose compiled ops do not load.
sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))
import torchvision.models as tvm  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("path", nargs="?", default="/tmp/mobilenet_v2.onnx")
parser.add_argument("--arch", default="mobilenet_v2", choices=["mobilenet_v2", "mobilenet_v3_small"])
parser.add_argument("--size", type=int, default=224, help="input height = width")
parser.add_argument("--classes", type=int, default=1000)
parser.add_argument("--keep-batchnorm", action="store_true")
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

torch.manual_seed(args.seed)
model = getattr(tvm, args.arch)(num_classes=args.classes).eval()
x = torch.randn(1, 3, args.size, args.size)
mode = torch.onnx.TrainingMode.PRESERVE if args.keep_batchnorm else torch.onnx.TrainingMode.EVAL
with torch.no_grad():
    torch.onnx.export(model, (x,), args.path, input_names=["input"], output_names=["logits"], opset_version=17,
                      dynamo=False, training=mode,
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})

if args.keep_batchnorm:
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(args.path)
    inits = {t.name: t for t in graph.graph.initializer}
    kept = []
    for node in graph.graph.node:
        if node.op_type == "Identity" and node.input[0] in inits:
            copy = numpy_helper.from_array(numpy_helper.to_array(inits[node.input[0]]).copy(), node.output[0])
            graph.graph.initializer.append(copy)
        else:
            kept.append(node)
    del graph.graph.node[:]
    graph.graph.node.extend(kept)
    onnx.checker.check_model(graph)
    onnx.save(graph, args.path)
print("wrote", args.path)
