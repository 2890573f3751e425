#!/usr/bin/env python3
"""Robustness sweep: runs every prunekit path on the models scripts/export_zoo.py wrote, next to onnxruntime.

For each model in ZOO/index.json:
  inspect     `prunekit inspect` exits 0
  run1/run3   `prunekit run` on a seeded random batch of 1 and 3 vs onnxruntime: max |a-b| / max |ref|
  convert     `prunekit convert` → .onnx passes onnx.checker, and onnxruntime gives the original's outputs
  channels    `prunekit prune --structured channels --ratio 0.3` → onnxruntime loads the result, and
              `prunekit run` on it agrees with onnxruntime on it (batch 3)
  sparsity    `prunekit prune --sparsity 0.5` → same two checks
  pkz         `prunekit compress` → .pkz → `prunekit decompress` → .onnx; onnxruntime runs it and agrees
              with `prunekit run` on the .pkz
Prints one row per model and a summary table; exit status 1 if any check failed. Not part of CI.
  python3 scripts/export_zoo.py /tmp/zoo
  python3 scripts/check_zoo.py /tmp/zoo [.build/release/prunekit] [name-filter ...]"""
import json, os, struct, subprocess, sys, tempfile
import numpy as np, onnx, onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import read_safetensors, write_safetensors  # noqa: E402

ZOO = sys.argv[1] if len(sys.argv) > 1 else "/tmp/zoo"
PRUNEKIT = sys.argv[2] if len(sys.argv) > 2 else ".build/release/prunekit"
ONLY = sys.argv[3:]
TOLERANCE = 1e-4  # relative: max |prunekit - onnxruntime| / max |onnxruntime|
HALF_TOLERANCE = 2e-3
TIMEOUT_S = 600


def prunekit(*args):
  """Runs prunekit; returns (ok, last lines of its output)."""
  try:
    p = subprocess.run([PRUNEKIT, *args], capture_output=True, text=True, timeout=TIMEOUT_S)
  except subprocess.TimeoutExpired:
    return False, f"timeout after {TIMEOUT_S} s"
  text = (p.stdout + p.stderr).strip().splitlines()
  crashed = p.returncode < 0 or p.returncode > 128
  why = ("CRASH signal " if crashed else "") + " | ".join(text[-2:])
  return p.returncode == 0, why[:300]


def ort_run(path, x):
  options = ort.SessionOptions()
  options.intra_op_num_threads = 2
  options.log_severity_level = 3
  session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
  name = session.get_inputs()[0].name
  return [o.name for o in session.get_outputs()], session.run(None, {name: x})


def as_model_input(path, x):
  """x in the element type the model's first input declares (a pruned float16 model is Float32)."""
  kind = onnx.load(path, load_external_data=False).graph.input[0].type.tensor_type.elem_type
  types = {onnx.TensorProto.FLOAT: np.float32, onnx.TensorProto.FLOAT16: np.float16}
  return x.astype(types[kind]) if kind in types and x.dtype != np.int64 else x


def relative_error(ours, reference):
  worst = 0.0
  for a, b in zip(ours, reference):
    if a.shape != b.shape:
      return float("inf")
    scale = max(float(np.max(np.abs(b))), 1e-6)
    worst = max(worst, float(np.max(np.abs(a.astype(np.float64) - b))) / scale)
  return worst


def parameter_count(path):
  model = onnx.load(path)
  return sum(int(np.prod(t.dims)) for t in model.graph.initializer if t.data_type == onnx.TensorProto.FLOAT)


def prunekit_vs_ort(model, x, folder, tag):
  """`prunekit run` vs onnxruntime on the same ONNX file (or .pkz vs its decompressed .onnx)."""
  reference_model = model
  if model.endswith(".pkz"):
    reference_model = model[:-4] + "-decompressed.onnx"
  x = as_model_input(reference_model, x)
  names, reference = ort_run(reference_model, x)
  inp, out = os.path.join(folder, tag + "-in.safetensors"), os.path.join(folder, tag + "-out.safetensors")
  write_safetensors(inp, {"input": x})
  ok, why = prunekit("run", model, "--input", inp, "-o", out)
  if not ok:
    return False, "prunekit run: " + why
  got = read_safetensors(out)
  missing = [n for n in names if n not in got]
  if missing:
    return False, f"missing outputs {missing}"
  error = relative_error([got[n] for n in names], reference)
  # float16 outputs: onnxruntime and prunekit may round the last bit differently (2^-10 relative).
  tolerance = HALF_TOLERANCE if any(r.dtype == np.float16 for r in reference) else TOLERANCE
  return error <= tolerance, f"rel {error:.2e}"


def check_model(entry, folder):
  path, shape = entry["file"], entry["shape"]
  rng = np.random.default_rng(7)
  if shape and shape[0] == "int64":  # token ids: ["int64", upper bound, shape]
    x1 = rng.integers(0, shape[1], [1] + shape[2]).astype(np.int64)
    x3 = rng.integers(0, shape[1], [3] + shape[2]).astype(np.int64)
  else:
    dtype = np.float16 if entry.get("dtype") == "float16" else np.float32
    x1 = rng.standard_normal([1] + shape).astype(dtype)
    x3 = rng.standard_normal([3] + shape).astype(dtype)
  tag = entry["name"]
  results = {}

  def attempt(key, fn):
    try:
      results[key] = fn()
    except Exception as e:  # an onnxruntime or checker failure is a failed check
      results[key] = (False, f"{type(e).__name__}: {str(e).strip().splitlines()[0][:200]}")

  attempt("inspect", lambda: prunekit("inspect", path))
  attempt("run1", lambda: prunekit_vs_ort(path, x1, folder, tag + "-b1"))
  attempt("run3", lambda: prunekit_vs_ort(path, x3, folder, tag + "-b3"))

  def convert():
    out = os.path.join(folder, tag + "-converted.onnx")
    ok, why = prunekit("convert", path, "-o", out)
    if not ok:
      return False, "convert: " + why
    onnx.checker.check_model(onnx.load(out))
    _, a = ort_run(out, x3)
    _, b = ort_run(path, x3)
    if any(t.dtype == np.float16 for t in b):  # written back as float16: bit-exact not promised
      error = relative_error(a, b)
      return error <= HALF_TOLERANCE, f"ort(converted) vs ort(original) rel {error:.2e}"
    error = relative_error(a, b)
    return error <= TOLERANCE, f"ort(converted) vs ort(original) rel {error:.2e}"

  attempt("convert", convert)

  def pruned(key, *flags):
    out = os.path.join(folder, f"{tag}-{key}.onnx")
    ok, why = prunekit("prune", path, *flags, "-o", out)
    if not ok:
      return False, "prune: " + why
    onnx.checker.check_model(onnx.load(out))
    ok, why = prunekit_vs_ort(out, x3, folder, f"{tag}-{key}")
    before, after = parameter_count(path), parameter_count(out)
    return ok, f"{why}; parameters {before:,} → {after:,}"

  attempt("channels", lambda: pruned("channels", "--structured", "channels", "--ratio", "0.3"))
  attempt("sparsity", lambda: pruned("sparsity", "--sparsity", "0.5"))

  def pkz():
    packed = os.path.join(folder, tag + ".pkz")
    ok, why = prunekit("compress", path, "-o", packed)
    if not ok:
      return False, "compress: " + why
    ok, why = prunekit("decompress", packed, "-o", packed[:-4] + "-decompressed.onnx")
    if not ok:
      return False, "decompress: " + why
    return prunekit_vs_ort(packed, x3, folder, tag + "-pkz")

  attempt("pkz", pkz)
  return results


def main():
  index = json.load(open(os.path.join(ZOO, "index.json")))
  checks = ["inspect", "run1", "run3", "convert", "channels", "sparsity", "pkz"]
  table, failed = [], 0
  with tempfile.TemporaryDirectory() as folder:
    for entry in index:
      if ONLY and not any(o in entry["name"] for o in ONLY):
        continue
      results = check_model(entry, folder)
      table.append((entry["name"], results))
      for key in checks:
        ok, why = results[key]
        failed += 0 if ok else 1
        print(f"{entry['name']:34s} {key:9s} {'pass' if ok else 'FAIL'}  {why}", flush=True)
  print()
  print("| model | " + " | ".join(checks) + " |")
  print("|---|" + "---|" * len(checks))
  for name, results in table:
    print(f"| {name} | " + " | ".join("pass" if results[k][0] else "FAIL" for k in checks) + " |")
  print(f"\n{sum(len(checks) for _ in table) - failed} passed, {failed} failed")
  sys.exit(1 if failed else 0)


if __name__ == "__main__":
  main()
