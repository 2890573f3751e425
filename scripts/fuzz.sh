#!/usr/bin/env bash
# Fuzzes PruneKit's parsers with libFuzzer (Swift's -sanitize=fuzzer, with AddressSanitizer).
#
#   scripts/fuzz.sh [RUNS] [TARGET…]      # default: 1000000 executions of every target
#   FUZZ_SECONDS=300 scripts/fuzz.sh …    # also stop each target after this many seconds
#
# Targets: onnx safetensors pkz pkz-crc idx csv vocab config tokenizer-json (Fuzz/PruneKitFuzz).
# Seeds: real files from ../shared and the repository, plus small synthetic models written by
# PruneKit's own writers (PRUNEKIT_FUZZ_SEEDS). The corpus libFuzzer grows is kept in
# Fuzz/corpus/<target>/ (reused by the next run); a crash, leak, timeout or out-of-memory input is
# copied to Tests/FuzzRegressionTests/Reproducers/<target>/, which `swift test` replays (timeout 300 s:
# under nice 19 beside benchmarks a 2 ms input once waited 26 s for the CPU). A summary
# line per target (executions, seconds, coverage, findings) goes to Fuzz/last-run.txt.
# Runs under `nice -n 19`, one process at a time (the machine is shared with benchmarks).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-1000000}
shift || true
TARGETS=${*:-onnx safetensors pkz pkz-crc idx csv vocab config tokenizer-json}
SHARED=${PRUNEKIT_SHARED:-../shared}
BUILD=.build-fuzz
WORK=$(mktemp -d "${TMPDIR:-/tmp}/prunekit-fuzz.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

echo "building the fuzz harness (sanitize=fuzzer,address) in $BUILD …" >&2
PRUNEKIT_FUZZ=1 nice -n 19 swift build -c release --build-path "$BUILD" --product prunekit-fuzz \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing -Xswiftc -use-ld=lld >&2
FUZZ="$BUILD/release/prunekit-fuzz"

# Seeds: synthetic ones first, then real files (small enough to mutate usefully).
SEEDS="$WORK/seeds"
PRUNEKIT_FUZZ_SEEDS="$SEEDS" PRUNEKIT_FUZZ_TARGET=onnx "$FUZZ" >&2
mkdir -p "$SEEDS"/{onnx,safetensors,pkz,pkz-crc,idx,csv,vocab,config,tokenizer-json}
cp "$SHARED"/fixtures/onnx/*.onnx "$SEEDS/onnx/" 2>/dev/null || true
cp "$SHARED"/fixtures/onnx/*.io.safetensors Tests/Fixtures/safetensors/*.safetensors "$SEEDS/safetensors/" 2>/dev/null || true
MINILM="$SHARED/models/all-MiniLM-L6-v2"
cp "$MINILM"/config.json "$SEEDS/config/minilm-config.json" 2>/dev/null || true
cp "$MINILM"/tokenizer_config.json "$SEEDS/config/" 2>/dev/null || true
head -c 4000 "$MINILM"/vocab.txt > "$SEEDS/vocab/minilm-vocab-head.txt" 2>/dev/null || true
head -n 1200 "$MINILM"/vocab.txt > "$SEEDS/vocab/minilm-vocab-1200.txt" 2>/dev/null || true
head -n 40 "$SHARED"/data/tweets-sentiment/tweets.csv > "$SEEDS/csv/tweets-head.csv" 2>/dev/null || true
python3 - "$MINILM/tokenizer.json" "$SEEDS/tokenizer-json/minilm-tokenizer-small.json" "$SEEDS/idx" <<'PY'
import gzip, json, sys
# tokenizer.json with its vocabulary cut to the first 1,200 ids (the file itself is 700 kB).
t = json.load(open(sys.argv[1]))
t["model"]["vocab"] = {k: v for k, v in t["model"]["vocab"].items() if v < 1200}
t["added_tokens"] = [a for a in t["added_tokens"] if a["id"] < 1200]
json.dump(t, open(sys.argv[2], "w"))
# The first 3 MNIST test images and labels, IDX headers rewritten for n = 3.
for name, n_bytes in (("t10k-images.idx3-ubyte", 784), ("t10k-labels.idx1-ubyte", 1)):
    raw = gzip.open("Data/mnist/%s.gz" % name).read()
    rank = raw[3]
    head = bytearray(raw[:4 + 4 * rank]); head[4:8] = (3).to_bytes(4, "big")
    open("%s/%s-3" % (sys.argv[3], name), "wb").write(bytes(head) + raw[4 + 4 * rank:4 + 4 * rank + 3 * n_bytes])
PY

mkdir -p Fuzz/corpus
: > Fuzz/last-run.txt
for target in $TARGETS; do
  corpus="Fuzz/corpus/$target"
  artifacts="$WORK/artifacts/$target/"
  mkdir -p "$corpus" "$artifacts"
  echo "fuzzing $target: $RUNS executions …" >&2
  log="$WORK/$target.log"
  # The real ONNX fixtures are about 1 MB: let them in whole (other seeds are a few kB).
  maxlen=65536
  [ "$target" = onnx ] && maxlen=1200000
  start=$(date +%s)
  status=0
  PRUNEKIT_FUZZ_TARGET=$target ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=Fuzz/lsan.supp \
    nice -n 19 "$FUZZ" "$corpus" "$SEEDS/$target" -runs="$RUNS" -max_total_time="${FUZZ_SECONDS:-0}" -max_len="$maxlen" -timeout=300 -rss_limit_mb=4096 -malloc_limit_mb=4096 \
    -artifact_prefix="$artifacts" -print_final_stats=1 > "$log" 2>&1 || status=$?
  seconds=$(( $(date +%s) - start ))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1 || echo "cov: ? ft: ?")
  found=$(ls "$artifacts" | wc -l)
  if [ "$found" -gt 0 ]; then
    mkdir -p "Tests/FuzzRegressionTests/Reproducers/$target"
    cp "$artifacts"* "Tests/FuzzRegressionTests/Reproducers/$target/"
    cp "$log" "Fuzz/last-$target-crash.log"
  fi
  line="$target: $execs executions in ${seconds} s, $cov, corpus $(ls "$corpus" | wc -l) files, findings $found, exit $status"
  echo "$line" | tee -a Fuzz/last-run.txt >&2
done
