#!/usr/bin/env bash
# The hardware-aware pruning table of docs/hardware-aware.md: LeNet-300-100 and LeNet-5 (MNIST, test
# accuracy) and MiniLM-L6 (tweets, embedding fidelity) planned for 1.5×, 2× and 3× measured speed-up at
# batch 1, 1 thread, each beside uniform magnitude and sensitivity-by-sparsity matched to the same
# measured latency (`prunekit plan --compare`). Run records go to OUT/runs; the table and the Pareto
# charts come from scripts/hardware_aware_summary.py.
#
# usage: scripts/hardware_aware_table.sh [OUT] [lenet300 lenet5 minilm]
set -euo pipefail
OUT=${1:-/tmp/hardware-aware}
shift || true
MODELS=${*:-lenet300 lenet5 minilm}
BIN=${PRUNEKIT:-.build/release/prunekit}
TARGETS=${TARGETS:-1.5 2 3}
mkdir -p "$OUT/runs"
MINILM=../shared/models/all-MiniLM-L6-v2/onnx/model.onnx
TWEETS=../shared/data/tweets-sentiment/tweets.csv

for model in $MODELS; do
  case $model in
    lenet300) [ -f "$OUT/lenet300.onnx" ] || "$BIN" train lenet300 -o "$OUT/lenet300.onnx" ;;
    lenet5) [ -f "$OUT/lenet5.onnx" ] || "$BIN" train lenet5 --epochs 4 -o "$OUT/lenet5.onnx" ;;
  esac
  for s in $TARGETS; do
    case $model in
      lenet300 | lenet5)
        "$BIN" plan "$OUT/$model.onnx" --speedup "$s" --batch 1 --threads 1 --compare "$OUT/runs" \
          -o "$OUT/$model-$s.json" | tee "$OUT/$model-$s.txt" ;;
      minilm)
        # Modest on 2 shared cores: 64 calibration texts (protocol rows 0..63) for the losses, 500 of the
        # protocol's fidelity rows for reporting, 3 sparsities and 2 head/neuron cut ratios.
        "$BIN" plan "$MINILM" --texts "$TWEETS:text:0..63" --eval-texts "$TWEETS:text:1000..1499" \
          --speedup "$s" --batch 1 --sequence 64 --threads 1 --sparsities 0.5,0.7,0.9 --ratios 0.25,0.5 \
          --compare "$OUT/runs" -o "$OUT/minilm-$s.json" | tee "$OUT/minilm-$s.txt" ;;
    esac
  done
done
python3 scripts/hardware_aware_summary.py "$OUT/runs" "$OUT"
