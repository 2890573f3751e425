#!/usr/bin/env bash
# Chooses OWL's hyperparameters (M = --owl-threshold, Λ = --owl-lambda) on a validation split carved
# from the tweet rows that neither calibration (0..127) nor the fidelity set (1000..2999) nor the probe
# (≥ 5000) uses: rows 128..999. Prints the validation fidelity of each grid point; the defaults of
# `prunekit prune --allocation owl` are the best of this grid (docs/oneshot-pruning.md).
# Usage: scripts/owl_select.sh METHOD SPARSITY [OUT_DIR] [PRUNEKIT]
set -euo pipefail
method=$1
sparsity=$2
out=${3:-/tmp/owl-select}
prunekit=${4:-.build/release/prunekit}
model=../shared/models/all-MiniLM-L6-v2/onnx/model.onnx
tweets=../shared/data/tweets-sentiment/tweets.csv
mkdir -p "$out"
models=("$out/$method-uniform.onnx")
"$prunekit" prune "$model" --method "$method" --sparsity "$sparsity" --calib "$tweets:text:0..127" \
  -o "$out/$method-uniform.onnx" > /dev/null 2>&1
for m in ${OWL_M:-3 5 10}; do
  for lambda in ${OWL_LAMBDA:-0.04 0.08 0.15}; do
    name="$out/$method-owl-M$m-L$lambda.onnx"
    "$prunekit" prune "$model" --method "$method" --sparsity "$sparsity" --calib "$tweets:text:0..127" \
      --allocation owl --owl-threshold "$m" --owl-lambda "$lambda" -o "$name" > /dev/null 2>&1
    models+=("$name")
  done
done
"$prunekit" eval-embeddings "${models[@]}" --dense "$model" --texts "$tweets:text:128..999" 2>/dev/null
