#!/usr/bin/env bash
# Issue 13's must-show: all-MiniLM-L6-v2 pruned to 70 % unstructured with SparseGPT
# (../shared/protocols/minilm-oneshot.md), distilled layer by layer from the dense model on tweets rows
# 3000..4999 (disjoint from the protocol's evaluation rows: fidelity 1000..2999, probe
# rows >= 5000), then evaluated on the protocol's sets (fidelity mean/min, probe accuracy) beside the
# undistilled pruned model. docs/training.md explains the settings and how they were tuned.
#
# Usage: scripts/distill_minilm.sh [OUT_DIR] [PRUNEKIT]        (run from the repository root)
#   TUNE=1 scripts/distill_minilm.sh /tmp/tune   tuning mode: distil on rows 3000..4799 and report the
#       fidelity on the held-out training rows 4800..4999 every VALIDATE_EVERY steps; no protocol
#       evaluation (settings are chosen on this split, never on the protocol's rows).
#   Override the distillation settings with DISTILL="…" (the options after --data), e.g.
#   DISTILL="--distill hidden --layer-loss cosine --steps 200 --batch 16 --lr 1e-3 --warmup 20".
set -euo pipefail
out=${1:-/tmp/distill}
prunekit=${2:-.build/release/prunekit}
model=../shared/models/all-MiniLM-L6-v2/onnx/model.onnx
words=../shared/models/all-MiniLM-L6-v2   # the tokenizer (the pruned .onnx is written without one)
tweets=../shared/data/tweets-sentiment/tweets.csv
export PRUNEKIT_THREADS=${PRUNEKIT_THREADS:-2}
distill=${DISTILL:---distill hidden --layer-loss cosine --steps 1000 --batch 16 --lr 2e-3 --warmup 50}
mkdir -p "$out"
lscpu | sed -n 's/^Model name: *//p'
if [[ ! -f "$out/sgpt70.onnx" ]]; then
  "$prunekit" prune "$model" --method sparsegpt --sparsity 0.7 --calib "$tweets:text:0..127" -o "$out/sgpt70.onnx"
fi
if [[ "${TUNE:-0}" == 1 ]]; then
  # shellcheck disable=SC2086
  "$prunekit" finetune "$out/sgpt70.onnx" --teacher "$model" --tokenizer "$words" --data "$tweets:text:3000..4799" $distill \
    --validate "$tweets:text:4800..4999" --validate-every "${VALIDATE_EVERY:-50}" -o "$out/tuned.onnx" --json \
    > "$out/tune.json"
  python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['result']
for p in r['validation']: print(f\"step {p['step']:4d}  {p['seconds']:6.0f} s  fidelity {p['fidelity']:.4f}  min {p['fidelity_min']:.4f}\")" \
    "$out/tune.json"
  exit 0
fi
# The timed distillation: wall time and the process's user+sys CPU time.
# shellcheck disable=SC2086
/usr/bin/time -f "distillation: %e s wall, %U s user, %S s sys" \
  "$prunekit" finetune "$out/sgpt70.onnx" --teacher "$model" --tokenizer "$words" --data "$tweets:text:3000..4999" $distill \
  -o "$out/distilled.onnx" --json > "$out/distill.json"
"$prunekit" eval-embeddings "$out/sgpt70.onnx" "$out/distilled.onnx" --dense "$model" \
  --texts "$tweets:text:1000..2999" --probe "$tweets:text:sentiment:5000.." --probe-where 'confidence>=0.6' \
  --probe-sample 6000 --max-length 256 ${JSON:+--json}
