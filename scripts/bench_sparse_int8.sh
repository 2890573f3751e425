#!/usr/bin/env bash
# Sparse + int8 on all-MiniLM-L6-v2 (issue 17), one `prunekit bench` run beside onnxruntime:
# dense fp32, 70 % unstructured (magnitude) fp32, int8, 70 % int8 (sparse-int8 kernel where measured
# faster), and onnxruntime's quantize_dynamic of the dense model; batch 32 × 64 and 1 × 64, 2 threads.
#   scripts/bench_sparse_int8.sh [OUT_DIR] [extra bench options…]
# Needs a built .build/release/prunekit and python3 with onnxruntime (for its int8 model).
set -euo pipefail
out=${1:-/tmp/prunekit-sparse-int8}
shift || true
bin=.build/release/prunekit
model=../shared/models/all-MiniLM-L6-v2/onnx/model.onnx
mkdir -p "$out"
[[ -f $out/m07.onnx ]] || "$bin" prune "$model" --sparsity 0.7 -o "$out/m07.onnx"
[[ -f $out/q.onnx ]] || "$bin" quantize "$model" -o "$out/q.onnx"
[[ -f $out/q07.onnx ]] || "$bin" quantize "$out/m07.onnx" -o "$out/q07.onnx"
[[ -f $out/ort-int8.onnx ]] || python3 -c "
import sys
from onnxruntime.quantization import quantize_dynamic, QuantType
quantize_dynamic(sys.argv[1], sys.argv[2], weight_type=QuantType.QInt8)" "$model" "$out/ort-int8.onnx"
"$bin" bench "$model" "$out/m07.onnx" "$out/q.onnx" "$out/q07.onnx" "$out/ort-int8.onnx" \
  --batch 32,1 --sequence 64 --threads 2 --min-runs 10 --min-seconds 2 "$@"
