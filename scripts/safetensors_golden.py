#!/usr/bin/env python3
"""Writes Tests/Fixtures/safetensors/golden.safetensors with the reference `safetensors` package.

(One metadata key only: the reference orders `__metadata__` by hash, PruneKit by key.)
SafeTensorsTests rebuilds the same tensors from the same formulas and checks that (1) PruneKit reads
the golden file to the same values and (2) PruneKit's writer produces the same bytes.
Run: pip install safetensors numpy && python3 scripts/safetensors_golden.py
(BF16 is absent: numpy has no bfloat16; the Swift round-trip test covers it.)
"""
import os
import numpy as np
from safetensors.numpy import save_file

# name -> (numpy dtype, shape). Values: element i of the flattened tensor is
#   floats: (i - 3) * 0.375; signed ints: i * 37 - 50 (wrapped to the width); unsigned: i * 37 (wrapped);
#   bool: i % 3 == 0.
SPECS = {
    "f64": (np.float64, [2, 3]),
    "f32": (np.float32, [2, 3]),
    "f16": (np.float16, [3, 2]),
    "i64": (np.int64, [4]),
    "i32": (np.int32, [2, 2]),
    "i16": (np.int16, [5]),
    "i8": (np.int8, [7]),
    "u8": (np.uint8, [9]),
    "u16": (np.uint16, [3]),
    "u32": (np.uint32, [2]),
    "u64": (np.uint64, [2]),
    "bool": (np.bool_, [2, 2]),
    "scalar_f32": (np.float32, []),
    "empty_f32": (np.float32, [0, 4]),
    "a.dotted/name": (np.float32, [1]),
}


def values(dtype, shape):
    n = int(np.prod(shape)) if shape else 1
    i = np.arange(n, dtype=np.int64)
    if dtype == np.bool_:
        v = i % 3 == 0
    elif np.issubdtype(dtype, np.floating):
        v = ((i - 3) * 0.375).astype(dtype)
    elif np.issubdtype(dtype, np.signedinteger):
        v = (i * 37 - 50).astype(dtype)
    else:
        v = (i * 37).astype(np.uint64).astype(dtype)
    return v.reshape(shape)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(here, "..", "Tests", "Fixtures", "safetensors", "golden.safetensors")
    tensors = {name: values(dt, shape) for name, (dt, shape) in SPECS.items()}
    save_file(tensors, out, metadata={"producer": "scripts/safetensors_golden.py"})
    print("wrote", os.path.normpath(out), os.path.getsize(out), "bytes")


if __name__ == "__main__":
    main()
