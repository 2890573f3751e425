"""Minimal safetensors reader/writer for the checking scripts (8-byte little-endian header length, JSON
header, little-endian data). Not part of the product."""
import json, struct
import numpy as np

import ml_dtypes

TYPES = {"F32": np.float32, "I64": np.int64, "F16": np.float16, "I32": np.int32, "F64": np.float64,
         "I16": np.int16, "I8": np.int8, "U8": np.uint8, "U16": np.uint16, "U32": np.uint32, "U64": np.uint64,
         "BOOL": np.bool_, "BF16": ml_dtypes.bfloat16}
CODES = {np.dtype(t): code for code, t in TYPES.items()}


def read_safetensors(path):
  with open(path, "rb") as f:
    (n,) = struct.unpack("<Q", f.read(8))
    header = json.loads(f.read(n))
    data = f.read()
  out = {}
  for name, info in header.items():
    if name != "__metadata__":
      begin, end = info["data_offsets"]
      out[name] = np.frombuffer(data[begin:end], dtype=TYPES[info["dtype"]]).reshape(info["shape"])
  return out


def write_safetensors(path, tensors, keep_types=False):
  """int64 and float16 arrays keep their type; everything else is written as F32, unless keep_types
  (then every type safetensors has keeps its own)."""
  header, blobs, offset = {}, [], 0
  for name, array in tensors.items():
    if keep_types:
      kind = CODES[array.dtype]
    else:
      kind = {np.dtype(np.int64): "I64", np.dtype(np.float16): "F16"}.get(array.dtype, "F32")
    data = np.ascontiguousarray(array, dtype=TYPES[kind]).tobytes()
    header[name] = {"dtype": kind, "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
    blobs.append(data)
    offset += len(data)
  text = json.dumps(header).encode()
  text += b" " * ((8 - len(text) % 8) % 8)
  with open(path, "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
