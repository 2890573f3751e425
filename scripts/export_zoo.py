#!/usr/bin/env python3
"""Exports a zoo of ordinary models to ONNX for the robustness sweep (scripts/check_zoo.py).

Random initialisation with a fixed seed (no pretrained weights are downloaded). Each model is exported
at opsets 13, 17 and 18 with the TorchScript exporter (dynamo=False) and, where onnxscript is installed,
at opset 18 with the dynamo exporter; the batch axis is dynamic. Models go to a folder outside git:
  python3 scripts/export_zoo.py /tmp/zoo            # all models
  python3 scripts/export_zoo.py /tmp/zoo resnet18    # only names containing "resnet18"
  python3 scripts/export_zoo.py /tmp/zoo --extra     # also the second tier (EXTRA: densenet, ViT, …)
Writes /tmp/zoo/index.json: [{name, file, input shape, exporter, opset}]. Not part of CI.
Needs `pip install torch torchvision onnx onnxscript`."""
import json, os, sys, types, warnings

import torch
import torch.nn as nn

# The CPU torch wheel may come with a CUDA-built torchvision whose compiled ops do not load; the model
# definitions are plain Python, so skip the fake-op registrations that need those ops.
sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))
import torchvision.models as tvm  # noqa: E402

warnings.filterwarnings("ignore")
# The fused inference fast path (aten::_transformer_encoder_layer_fwd) has no ONNX export.
torch.backends.mha.set_fastpath_enabled(False)


class TinyMLP(nn.Module):
  """Linear → LayerNorm → GELU → Linear → residual → LayerNorm → Linear: input [N, 32]."""

  def __init__(self):
    super().__init__()
    self.fc1 = nn.Linear(32, 64)
    self.ln1 = nn.LayerNorm(64)
    self.fc2 = nn.Linear(64, 64)
    self.ln2 = nn.LayerNorm(64)
    self.head = nn.Linear(64, 10)

  def forward(self, x):
    h = torch.nn.functional.gelu(self.ln1(self.fc1(x)))
    h = self.ln2(h + torch.nn.functional.gelu(self.fc2(h)))
    return self.head(h)


class TinyTransformer(nn.Module):
  """nn.TransformerEncoder (batch_first, 2 layers, d_model 64, 4 heads) + mean pool + Linear: [N, 16, 64]."""

  def __init__(self):
    super().__init__()
    layer = nn.TransformerEncoderLayer(64, 4, dim_feedforward=128, dropout=0.0, batch_first=True)
    self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
    self.head = nn.Linear(64, 5)

  def forward(self, x):
    return self.head(self.encoder(x).mean(dim=1))


class TinyUNet(nn.Module):
  """Conv/BN/ReLU down, MaxPool, ConvTranspose up, nearest Upsample, skip Concat: input [N, 3, 32, 32]."""

  def __init__(self):
    super().__init__()
    self.enc1 = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
    self.enc2 = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU())
    self.mid = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(16, 16, 3, padding=1), nn.ReLU())
    self.up1 = nn.ConvTranspose2d(16, 16, 2, stride=2)
    self.dec1 = nn.Sequential(nn.Conv2d(32, 8, 3, padding=1), nn.ReLU())
    self.up2 = nn.Upsample(scale_factor=2, mode="nearest")
    self.dec2 = nn.Conv2d(16, 2, 1)

  def forward(self, x):
    e1 = self.enc1(x)
    e2 = self.enc2(e1)
    m = self.up1(self.mid(e2))
    d1 = self.dec1(torch.cat([m, e2], dim=1))
    return self.dec2(torch.cat([self.up2(d1), e1], dim=1))


class BilinearHead(nn.Module):
  """Conv → bilinear Upsample(align_corners=False) → Conv: input [N, 3, 16, 16]."""

  def __init__(self):
    super().__init__()
    self.a = nn.Conv2d(3, 8, 3, padding=1)
    self.b = nn.Conv2d(8, 4, 3, padding=1)

  def forward(self, x):
    h = torch.relu(self.a(x))
    h = torch.nn.functional.interpolate(h, scale_factor=2.0, mode="bilinear", align_corners=False)
    return self.b(h)


class MiscOps(nn.Module):
  """PReLU, GroupNorm, PixelShuffle, LeakyReLU, ELU, Softplus, Hardswish, Mish, AdaptiveAvgPool, Dropout,
  channel split/chunk: input [N, 3, 16, 16]."""

  def __init__(self):
    super().__init__()
    self.a = nn.Conv2d(3, 16, 3, padding=1)
    self.prelu = nn.PReLU(16)
    self.gn = nn.GroupNorm(4, 16)
    self.b = nn.Conv2d(16, 16, 3, padding=1)
    self.shuffle = nn.PixelShuffle(2)
    self.c = nn.Conv2d(4, 8, 3, stride=2, padding=1, bias=False)
    self.pool = nn.AdaptiveAvgPool2d((2, 2))
    self.fc = nn.Linear(32, 6)

  def forward(self, x):
    h = self.gn(self.prelu(self.a(x)))
    h = torch.nn.functional.leaky_relu(self.b(h), 0.1) + torch.nn.functional.elu(h)
    h = torch.nn.functional.hardswish(self.shuffle(h))
    h = self.c(h)
    h = torch.nn.functional.mish(h) * torch.nn.functional.softplus(h.mean(dim=(2, 3), keepdim=True))
    p, q = torch.chunk(self.pool(h), 2, dim=1)
    return self.fc(torch.flatten(torch.cat([q, p], 1), 1))


class TokenEncoder(nn.Module):
  """Embedding of int64 token ids [N, 12] + positional embedding + 1 TransformerEncoderLayer + pooled head."""

  def __init__(self):
    super().__init__()
    self.embed = nn.Embedding(100, 32)
    self.position = nn.Parameter(torch.randn(1, 12, 32) * 0.1)
    layer = nn.TransformerEncoderLayer(32, 4, dim_feedforward=64, dropout=0.0, batch_first=True,
                                       activation="gelu", norm_first=True)
    self.encoder = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)
    self.head = nn.Linear(32, 3)

  def forward(self, ids):
    return self.head(self.encoder(self.embed(ids) + self.position)[:, 0])


class CausalLM(nn.Module):
  """GPT-like: token + position embeddings, 2 causal pre-norm layers, final LayerNorm, LM head tied to the
  token embedding (one initializer read by Gather and MatMul): input int64 ids [N, 12] → logits [N, 12, 100]."""

  def __init__(self):
    super().__init__()
    self.embed = nn.Embedding(100, 32)
    self.position = nn.Embedding(12, 32)
    layer = nn.TransformerEncoderLayer(32, 4, dim_feedforward=64, dropout=0.0, batch_first=True,
                                       activation="gelu", norm_first=True)
    self.layers = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
    self.norm = nn.LayerNorm(32)
    self.register_buffer("mask", torch.triu(torch.full((12, 12), float("-inf")), diagonal=1))

  def forward(self, ids):
    positions = torch.arange(12)
    h = self.embed(ids) + self.position(positions)
    h = self.norm(self.layers(h, mask=self.mask))
    return h @ self.embed.weight.t()


class SpatialDynamic(nn.Module):
  """A small CNN exported with dynamic H and W as well as batch: input [N, 3, H, W] (sweep: 24×20)."""

  def __init__(self):
    super().__init__()
    self.body = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
    self.fc = nn.Linear(16, 4)

  def forward(self, x):
    return self.fc(torch.flatten(self.body(x), 1))


def tiny_vit():
  return tvm.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=4, hidden_dim=64,
                               mlp_dim=128, num_classes=10)


IMAGE = (3, 64, 64)
TOKENS = ("int64", 100, (12,))  # dtype, exclusive upper bound of the values, shape without batch
EXTRA = {
  "densenet121": (lambda: tvm.densenet121(num_classes=10), IMAGE),
  "regnet_y_400mf": (lambda: tvm.regnet_y_400mf(num_classes=10), IMAGE),
  "mnasnet0_5": (lambda: tvm.mnasnet0_5(num_classes=10), IMAGE),
  "resnext50_32x4d": (lambda: tvm.resnext50_32x4d(num_classes=10), IMAGE),
  "convnext_tiny": (lambda: tvm.convnext_tiny(num_classes=10), IMAGE),
  "vit_tiny": (tiny_vit, (3, 32, 32)),
  "lraspp": (lambda: tvm.segmentation.lraspp_mobilenet_v3_large(num_classes=3, weights_backbone=None),
             IMAGE),
  "googlenet": (lambda: tvm.googlenet(num_classes=10, aux_logits=False, init_weights=True), IMAGE),
  "misc_ops": (MiscOps, (3, 16, 16)),
  "token_encoder": (TokenEncoder, TOKENS),
  "causal_lm": (CausalLM, TOKENS),
  "spatial_dynamic": (SpatialDynamic, (3, 24, 20)),
}
# Older opsets (Upsample at 9, Resize-11 forms, attribute-form Squeeze/Split/Pad/Clip) for a few models.
OLD_OPSETS = {"unet": (9, 11), "mobilenet_v2": (11,), "resnet18": (11,), "mlp": (11,), "spatial_dynamic": (11,)}
SPATIAL = {"spatial_dynamic"}  # exported with dynamic H and W
HALF = {"mobilenet_v2-op17-ts", "resnet18-op17-ts", "unet-op17-ts"}  # also written as float16 models
# Newer opsets with the dynamo exporter (opset 23 turns scaled_dot_product_attention into Attention).
NEW_OPSETS = {"transformer": (23,), "vit_tiny": (23,), "token_encoder": (23,), "mlp": (23,),
              "mobilenet_v3_small": (23,)}
MODELS = {
  "resnet18": (lambda: tvm.resnet18(num_classes=10), IMAGE),
  "mobilenet_v2": (lambda: tvm.mobilenet_v2(num_classes=10), IMAGE),
  "mobilenet_v3_small": (lambda: tvm.mobilenet_v3_small(num_classes=10), IMAGE),
  "squeezenet1_1": (lambda: tvm.squeezenet1_1(num_classes=10), IMAGE),
  "shufflenet_v2_x0_5": (lambda: tvm.shufflenet_v2_x0_5(num_classes=10), IMAGE),
  "efficientnet_b0": (lambda: tvm.efficientnet_b0(num_classes=10), IMAGE),
  "transformer": (TinyTransformer, (16, 64)),
  "mlp": (TinyMLP, (32,)),
  "unet": (TinyUNet, (3, 32, 32)),
  "bilinear": (BilinearHead, (3, 16, 16)),
}


def randomize_batchnorm(model, generator):
  """Fresh BatchNorm has mean 0 / var 1, which hides folding mistakes: give it real statistics."""
  for m in model.modules():
    if isinstance(m, nn.BatchNorm2d):
      m.running_mean.copy_(torch.randn(m.num_features, generator=generator) * 0.1)
      m.running_var.copy_(torch.rand(m.num_features, generator=generator) + 0.5)
      m.weight.data.copy_(torch.rand(m.num_features, generator=generator) + 0.5)
      m.bias.data.copy_(torch.randn(m.num_features, generator=generator) * 0.1)


def export(name, make, shape, folder, opset, dynamo):
  torch.manual_seed(0)
  model = make().eval()
  randomize_batchnorm(model, torch.Generator().manual_seed(1))
  if shape and shape[0] == "int64":
    x = torch.randint(0, shape[1], (2, *shape[2]))
  else:
    x = torch.randn(2, *shape)
  tag = f"{name}-op{opset}-{'dynamo' if dynamo else 'ts'}"
  path = os.path.join(folder, tag + ".onnx")
  kwargs = dict(input_names=["input"], output_names=["output"], opset_version=opset)
  if dynamo:
    kwargs["dynamo"] = True
    dims = {0: torch.export.Dim("batch", min=1, max=64)}
    if name in SPATIAL:
      dims.update({2: torch.export.Dim("height", min=8, max=512), 3: torch.export.Dim("width", min=8, max=512)})
    kwargs["dynamic_shapes"] = (dims,)
    kwargs["external_data"] = False
  else:
    kwargs["dynamo"] = False
    kwargs["dynamic_axes"] = {"input": {0: "batch"}, "output": {0: "batch"}}
    if name in SPATIAL:
      kwargs["dynamic_axes"]["input"].update({2: "height", 3: "width"})
  with torch.no_grad():
    torch.onnx.export(model, (x,), path, **kwargs)
  return {"name": tag, "model": name, "file": path, "shape": list(shape), "opset": opset,
          "exporter": "dynamo" if dynamo else "torchscript"}


def main():
  folder = sys.argv[1] if len(sys.argv) > 1 else "/tmp/zoo"
  only = sys.argv[2:]
  os.makedirs(folder, exist_ok=True)
  try:
    import onnxscript  # noqa: F401
    dynamo_ok = True
  except ImportError:
    dynamo_ok = False
  index_path = os.path.join(folder, "index.json")
  index = json.load(open(index_path)) if os.path.exists(index_path) else []
  models = dict(MODELS)
  if "--extra" in only:
    only.remove("--extra")
    models.update(EXTRA)
  for name, (make, shape) in models.items():
    if only and not any(o in name for o in only):
      continue
    variants = [(o, False) for o in OLD_OPSETS.get(name, ())] + [(13, False), (17, False), (18, False)]
    variants += [(18, True)] + [(o, True) for o in NEW_OPSETS.get(name, ())] if dynamo_ok else []
    for opset, dynamo in variants:
      try:
        entry = export(name, make, shape, folder, opset, dynamo)
        index = [e for e in index if e["name"] != entry["name"]] + [entry]
        print("exported", entry["name"])
      except Exception as e:  # an exporter failure is reported, not fatal to the sweep
        first = str(e).strip().splitlines()[-1][:200] if str(e).strip() else type(e).__name__
        print(f"EXPORT FAILED {name} opset {opset} {'dynamo' if dynamo else 'ts'}: {first}")
  # float16 copies (onnxconverter-common's float16 pass, inputs and outputs float16 too).
  try:
    import onnx
    from onnxconverter_common import float16
  except ImportError:
    float16 = None
  for entry in [e for e in index if e["name"] in HALF and (not only or any(o in e["name"] for o in only))]:
    if float16 is None:
      print("skipped float16 copies: pip install onnxconverter-common")
      break
    half = dict(entry, name=entry["name"] + "-fp16", file=entry["file"][:-5] + "-fp16.onnx", dtype="float16")
    onnx.save(float16.convert_float_to_float16(onnx.load(entry["file"]), keep_io_types=False), half["file"])
    index = [e for e in index if e["name"] != half["name"]] + [half]
    print("exported", half["name"])
  with open(index_path, "w") as f:
    json.dump(index, f, indent=1)


if __name__ == "__main__":
  main()
