#!/usr/bin/env python3
"""Golden outputs of TensorCore's NN kernels from PyTorch (CPU, float64 then rounded to float32).

Inputs are generated from a formula both sides can rebuild without storing them:
    pattern(n, salt)[i] = (((i * 37 + salt) % 17) - 8) / 4
Writes Tests/Golden/kernels.json. Run: python3 scripts/kernel_golden.py
"""
import json
import math
import os

import torch
import torch.nn.functional as F


def pattern(shape, salt):
    n = math.prod(shape)
    values = [(((i * 37 + salt) % 17) - 8) / 4 for i in range(n)]
    return torch.tensor(values, dtype=torch.float64).reshape(shape)


def case(name, out, **params):
    return {"name": name, "shape": list(out.shape), "values": [float(v) for v in out.flatten().float()],
            **params}


cases = []
# conv2d: asymmetric padding [top, left, bottom, right] = [1, 0, 2, 1], stride (2, 1), dilation (1, 2), groups 2
x = pattern([2, 4, 7, 6], 1)
w = pattern([6, 2, 3, 2], 2)
b = pattern([6], 3)
xp = F.pad(x, (0, 1, 1, 2))  # (left, right, top, bottom)
out = F.conv2d(xp, w, b, stride=(2, 1), dilation=(1, 2), groups=2)
cases.append(case("conv2d", out, input=[2, 4, 7, 6], weight=[6, 2, 3, 2], bias=[6], stride=[2, 1],
                  padding=[1, 0, 2, 1], dilation=[1, 2], groups=2))
# depthwise 3x3 stride 2 pad 1
x = pattern([1, 3, 5, 5], 4)
w = pattern([3, 1, 3, 3], 5)
out = F.conv2d(x, w, None, stride=2, padding=1, groups=3)
cases.append(case("depthwise", out, input=[1, 3, 5, 5], weight=[3, 1, 3, 3], stride=[2, 2],
                  padding=[1, 1, 1, 1], dilation=[1, 1], groups=3))
# max pool 3x3 stride 2 pad 1 ceil mode
x = pattern([1, 2, 6, 7], 6)
out = F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True)
cases.append(case("maxPool", out, input=[1, 2, 6, 7], kernel=[3, 3], stride=[2, 2], padding=[1, 1, 1, 1],
                  ceilMode=True))
# avg pool 3x3 stride 2 pad 1 ceil mode, both count_include_pad settings
for include in (True, False):
    out = F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=include)
    cases.append(case("avgPool", out, input=[1, 2, 6, 7], kernel=[3, 3], stride=[2, 2],
                      padding=[1, 1, 1, 1], ceilMode=True, countIncludePad=include))
# layer norm over the last 5 of [3, 5]
x = pattern([3, 5], 7)
g = pattern([5], 8)
bb = pattern([5], 9)
out = F.layer_norm(x, [5], g, bb, eps=1e-5)
cases.append(case("layerNorm", out, input=[3, 5], epsilon=1e-5))
# softmax / log-softmax along axis 1 of [2, 3, 4] (a non-last axis)
x = pattern([2, 3, 4], 10) * 3
cases.append(case("softmax", torch.softmax(x, 1), input=[2, 3, 4], axis=1, scale=3))
cases.append(case("logSoftmax", torch.log_softmax(x, 1), input=[2, 3, 4], axis=1, scale=3))
# gelu (erf form) on pattern * 1.5
x = pattern([17], 11) * 1.5
cases.append(case("gelu", F.gelu(x), input=[17], scale=1.5))
# batch norm inference over [2, 3, 2, 2]
x = pattern([2, 3, 2, 2], 12)
mean, var = pattern([3], 13), pattern([3], 14).abs() + 0.5
scale, bias = pattern([3], 15), pattern([3], 16)
out = F.batch_norm(x, mean, var, scale, bias, training=False, eps=1e-3)
cases.append(case("batchNorm", out, input=[2, 3, 2, 2], epsilon=1e-3))

path = os.path.join(os.path.dirname(__file__), "..", "Tests", "Golden", "kernels.json")
with open(path, "w") as f:
    json.dump({"generator": "scripts/kernel_golden.py", "torch": torch.__version__, "cases": cases}, f,
              indent=1)
print("wrote", os.path.normpath(path), len(cases), "cases")
