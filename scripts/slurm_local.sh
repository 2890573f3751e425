#!/bin/bash
# A real Slurm job array of `prunekit sweep` on a one-node cluster on this machine (not in CI).
#
#   scripts/slurm_local.sh [WORK_DIR]      (default /tmp/prunekit-slurm; needs root and apt)
#
# Installs Debian's slurm-wlm (slurmctld + slurmd) and munge, starts them with a minimal slurm.conf
# (one node = this host, no cgroups, no accounting), then:
#  1. trains a small LeNet-300-100 (1 epoch, 12,000 images) and emits an sbatch job array for the grid
#     magnitude/random × 4 sparsities (8 cells, each fine-tuned 1 epoch on 3,000 images and
#     evaluated on the first 2,000 MNIST test images);
#  2. submits it, kills one array task while it runs (scancel JOB_3), waits for the rest;
#  3. shows `prunekit sweep status` (the killed cell not done, the --array= list) and resubmits
#     exactly that list with `sbatch --array=LIST`, waits, collects;
#  4. runs the same grid locally with `prunekit sweep` and checks the merged results are equal
#     byte for byte (`cmp`), then stops the daemons it started.
# Cells run at nice 19 (slurmd is started under nice, tasks inherit it). The transcript with
# timings is in docs/cluster.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
prunekit="$root/.build/release/prunekit"
work="${1:-/tmp/prunekit-slurm}"
[ -x "$prunekit" ] || { echo "build first: swift build -c release" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "run as root (it installs packages and starts daemons)" >&2; exit 1; }

stamp() { date -u +%T; }
t0=$(date +%s.%N)
elapsed() { printf '%.1f s' "$(echo "$(date +%s.%N) - $1" | bc)"; }

echo "[$(stamp)] installing slurm-wlm and munge"
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge bc >/dev/null
fi
dpkg-query -W slurm-wlm munge

host="$(hostname -s)"
cpus="$(nproc)"
mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=prunekit-local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
MpiDefault=none
ReturnToService=2
MaxArraySize=100000
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=local Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF

echo "[$(stamp)] starting munged, slurmctld, slurmd (nice 19)"
[ -s /etc/munge/munge.key ] || mungekey --create --force 2>/dev/null || /usr/sbin/create-munge-key -f
chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null || true
started=()
cleanup() {
  for p in "${started[@]}"; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true; done
}
trap cleanup EXIT
if ! munge -n >/dev/null 2>&1; then
  runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid
  started+=(/run/munge/munged.pid)
fi
slurmctld -c
started+=(/run/slurmctld.pid)
nice -n 19 slurmd -N "$host"
started+=(/run/slurmd.pid)
for _ in $(seq 60); do
  sinfo -h -o %T 2>/dev/null | grep -qE '^idle' && break
  sleep 1
done
sinfo

rm -rf "$work" && mkdir -p "$work" && cd "$work"
ln -s "$root/Data" Data
echo "[$(stamp)] training LeNet-300-100 for the sweep (1 epoch on 12,000 images)"
nice -n 19 "$prunekit" train lenet300 --epochs 1 --limit 12000 --quiet -o lenet300.onnx

grid=(--model lenet300.onnx --methods magnitude,random --sparsities 0.5,0.7,0.9,0.95
  --eval Data/mnist --eval-limit 2000 --train-data Data/mnist --finetune 1 --train-limit 3000)
"$prunekit" sweep "${grid[@]}" --emit slurm --parallel 2 --cpus-per-task 1 --mem 1G --time 00:20:00 \
  --executable "$prunekit" -o sweep-slurm

echo "[$(stamp)] submitting"
ts=$(date +%s.%N)
job=$(sbatch --parsable sweep-slurm/sweep.sbatch)
echo "job array $job"
# Kill array task 3 while it runs.
for _ in $(seq 600); do
  state=$(squeue -h -j "${job}_3" -o %T 2>/dev/null || true)
  [ "$state" = RUNNING ] && break
  sleep 0.5
done
sleep 1
echo "[$(stamp)] task ${job}_3 is $state: scancel ${job}_3"
scancel "${job}_3"
while [ -n "$(squeue -h -j "$job" 2>/dev/null)" ]; do sleep 1; done
echo "[$(stamp)] array finished in $(elapsed "$ts")"
ls sweep-slurm/cells sweep-slurm/logs
"$prunekit" sweep status sweep-slurm || true
array=$("$prunekit" sweep status sweep-slurm --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["array"])')
[ -n "$array" ] || { echo "expected the killed cell to be not done" >&2; exit 1; }

echo "[$(stamp)] resubmitting --array=$array"
ts=$(date +%s.%N)
job2=$(sbatch --parsable --array="$array" sweep-slurm/sweep.sbatch)
while [ -n "$(squeue -h -j "$job2" 2>/dev/null)" ]; do sleep 1; done
echo "[$(stamp)] resubmission finished in $(elapsed "$ts")"
"$prunekit" sweep status sweep-slurm
"$prunekit" sweep collect sweep-slurm -o slurm.json

echo "[$(stamp)] the same grid locally"
ts=$(date +%s.%N)
nice -n 19 "$prunekit" sweep "${grid[@]}" -o sweep-local --threads 1 --quiet
echo "[$(stamp)] local sweep finished in $(elapsed "$ts")"
"$prunekit" sweep collect sweep-local -o local.json
if cmp slurm.json local.json; then
  echo "merged results: Slurm == local, byte for byte ($(wc -c < slurm.json) bytes, $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["cells"]))' slurm.json) cells)"
else
  echo "merged results differ" >&2
  exit 1
fi
"$prunekit" sweep collect sweep-slurm
echo "[$(stamp)] done in $(elapsed "$t0")"
