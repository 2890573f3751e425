#!/usr/bin/env bash
# The pruned-CNN fine-tune of issue 13, end to end: torchvision's MobileNet-v2 (seeded random weights —
# no pretrained weights are downloadable here) exported at 32×32 with its BatchNorm layers, 50 % of the
# channels of every coupled group removed by `prunekit prune --structured channels`, the 1000-class
# classifier replaced by a fresh 10-class one, fine-tuned on Fashion-MNIST (28×28 grey, resized
# bilinearly to 32×32 and replicated to 3 channels), test accuracy before/after.
#
#   scripts/finetune_mobilenet.sh [OUT_DIR] [DATA_DIR] [TRAIN_IMAGES]
#   (defaults: /tmp/mnv2-finetune, /usr/share/datasets/fashion-mnist, 30000)
#
# Fashion-MNIST: `apt-get install dataset-fashion-mnist`; MNIST also works: ../shared/data/mnist.
# Needs torch, torchvision, onnx for the export (scripts/export_mobilenet.py) and a release build.
set -euo pipefail
out=${1:-/tmp/mnv2-finetune}
data=${2:-/usr/share/datasets/fashion-mnist}
limit=${3:-30000}
root=$(cd "$(dirname "$0")/.." && pwd)
prunekit=${PRUNEKIT:-$root/.build/release/prunekit}
mkdir -p "$out"
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), threads: ${THREADS:-2}"
python3 "$root/scripts/export_mobilenet.py" "$out/mnv2-32.onnx" --size 32 --keep-batchnorm 2>/dev/null
"$prunekit" prune "$out/mnv2-32.onnx" --structured channels --ratio 0.5 -o "$out/mnv2-32-c50.onnx" >/dev/null
for m in mnv2-32 mnv2-32-c50; do  # params, MACs per 32×32 image (the 1000-class head included)
  "$prunekit" inspect "$out/$m.onnx" | awk -v m="$m" '$1 == "total" { print m ": " $2 " parameters, " $3 " MACs" }'
done
"$prunekit" finetune "$out/mnv2-32-c50.onnx" --data "$data" --new-head 10 --limit "$limit" --epochs 1 \
  --batch 64 --lr 0.002 --seed 1 --threads "${THREADS:-2}" --json -o "$out/mnv2-32-c50-tuned.onnx" >"$out/finetune.json"
python3 - "$out/finetune.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["result"]
losses = r["losses"]
k = max(1, len(losses) // 10)
print(f"{r['examples']} training images, {r['steps']} steps of 64, fed as {r['image_shape']}, new head {r['new_head']}")
print("mean loss per", k, "steps:", " ".join(f"{sum(losses[i:i+k])/len(losses[i:i+k]):.3f}" for i in range(0, len(losses), k)))
print(f"test accuracy {100*r['test_accuracy_before']:.2f}% -> {100*r['test_accuracy_after']:.2f}%, {r['seconds']:.0f} s")
PY
