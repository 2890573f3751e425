#!/bin/bash
# Regenerates the golden job files of `prunekit sweep --emit` (Tests/Golden/sweep/), which
# SweepCLITests compares byte for byte. Run after a deliberate change to the emitters, then read
# the diff before committing it. Usage: scripts/make_sweep_golden.sh [path/to/prunekit]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
prunekit="$(cd "$root" && realpath "${1:-.build/release/prunekit}")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
# The same commands as SweepCLITests.emittedJobsMatchTheGoldenFiles (the model and data need not exist).
grid=(--model models/lenet300.onnx --methods magnitude,random --sparsities 0.5,0.7,0.8,0.9 --eval data/mnist)
"$prunekit" sweep "${grid[@]}" --emit slurm --parallel 4 --cpus-per-task 2 --mem 2G --time 00:30:00 \
  --partition cpu -o sweeps/lenet >/dev/null
"$prunekit" sweep "${grid[@]}" --emit kubernetes --parallel 4 --cpus-per-task 2 --mem 2G --time 00:30:00 \
  --image registry.example.com/prunekit:0.2.0 --volume-claim sweeps --mount-path /work -o sweeps/lenet >/dev/null
cp sweeps/lenet/sweep.sbatch sweeps/lenet/sweep-job.yaml sweeps/lenet/sweep.json "$root/Tests/Golden/sweep/"
echo "wrote $root/Tests/Golden/sweep/{sweep.sbatch,sweep-job.yaml,sweep.json}"
