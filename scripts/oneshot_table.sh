#!/usr/bin/env bash
# The one-shot table of docs/oneshot-pruning.md: magnitude, Wanda and SparseGPT at 50 % / 70 % / 2:4
# (and OWL at 50 % / 70 %) on all-MiniLM-L6-v2 under ../shared/protocols/minilm-oneshot.md, then
# eval-embeddings on all of them in one run (the dense embeddings are computed once).
# Usage: scripts/oneshot_table.sh [OUT_DIR] [PRUNEKIT]   (run from the repository root)
set -euo pipefail
out=${1:-/tmp/oneshot}
prunekit=${2:-.build/release/prunekit}
model=../shared/models/all-MiniLM-L6-v2/onnx/model.onnx
tweets=../shared/data/tweets-sentiment/tweets.csv
mkdir -p "$out"
export PRUNEKIT_THREADS=${PRUNEKIT_THREADS:-2}
models=()
run() {  # name, options…
  local name=$1; shift
  "$prunekit" prune "$model" --calib "$tweets:text:0..127" "$@" -o "$out/$name.onnx" --json > "$out/$name.json"
  python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print(f\"{sys.argv[2]:14s} sparsity {100*s['sparsity']:.2f}%  prune {s['seconds']:.2f} s  peak {s.get('peakMemoryBytes',0)/1e6:.0f} MB\")" "$out/$name.json" "$name"
  models+=("$out/$name.onnx")
}
for method in magnitude wanda sparsegpt; do
  run "$method-50" --method "$method" --sparsity 0.5
  run "$method-70" --method "$method" --sparsity 0.7
  run "$method-2of4" --method "$method" --pattern 2:4
done
if [[ "${OWL:-1}" == 1 ]]; then
  for method in wanda sparsegpt; do
    run "$method-owl-50" --method "$method" --sparsity 0.5 --allocation owl
    run "$method-owl-70" --method "$method" --sparsity 0.7 --allocation owl
  done
fi
"$prunekit" eval-embeddings "${models[@]}" --dense "$model" --texts "$tweets:text:1000..2999" \
  --probe "$tweets:text:sentiment:5000.." --probe-where 'confidence>=0.6' --probe-sample 6000 \
  --max-length 256 ${JSON:+--json}
