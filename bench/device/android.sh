#!/usr/bin/env bash
# Benchmark a .pte on an Android phone with ExecuTorch's executor_runner over adb, and write
# the result in the mobilegan.bench/1 schema (merge it with `mobilegan bench --import`).
#
#   bench/device/android.sh export/mobile_w025_fp32.pte --model mobile_w025 --threads 4 --out pixel.json
#
# Needs: adb with one phone attached (or --serial), and an arm64 executor_runner built from
# the ExecuTorch release that matches the exporter (executorch==1.5.1), see bench/device/README.md.
set -euo pipefail

usage() { sed -n '2,9p' "$0"; exit 2; }
[[ $# -ge 1 ]] || usage
PTE=$1; shift
MODEL=$(basename "$PTE" .pte); PRECISION=fp32; THREADS=4; BATCHES=20; PER_BATCH=10; SIZE=256
RUNNER=${EXECUTOR_RUNNER:-cmake-android-out/executor_runner}; OUT=""; SERIAL_ARGS=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --model) MODEL=$2; shift 2;;
    --precision) PRECISION=$2; shift 2;;
    --threads) THREADS=$2; shift 2;;
    --batches) BATCHES=$2; shift 2;;
    --per-batch) PER_BATCH=$2; shift 2;;
    --size) SIZE=$2; shift 2;;
    --runner) RUNNER=$2; shift 2;;
    --serial) SERIAL_ARGS=(-s "$2"); shift 2;;
    --out) OUT=$2; shift 2;;
    *) echo "android.sh: error: unknown option $1" >&2; exit 2;;
  esac
done
[[ -f $PTE ]] || { echo "android.sh: error: $PTE: no such file" >&2; exit 2; }
[[ -f $RUNNER ]] || { echo "android.sh: error: executor_runner not found at $RUNNER (see bench/device/README.md)" >&2; exit 2; }
command -v adb >/dev/null || { echo "android.sh: error: adb not on PATH" >&2; exit 2; }

ADB=(adb "${SERIAL_ARGS[@]}")
DIR=/data/local/tmp/mobilegan
"${ADB[@]}" shell mkdir -p "$DIR"
"${ADB[@]}" push "$RUNNER" "$DIR/executor_runner" >/dev/null
"${ADB[@]}" push "$PTE" "$DIR/model.pte" >/dev/null
"${ADB[@]}" shell chmod +x "$DIR/executor_runner"

LOGS=$(mktemp -d)
trap 'rm -rf "$LOGS"' EXIT
# One warm-up process, then BATCHES processes of PER_BATCH back-to-back runs each.
"${ADB[@]}" shell "$DIR/executor_runner" -model_path "$DIR/model.pte" -num_executions 3 -cpu_threads "$THREADS" >/dev/null 2>&1 || true
for i in $(seq 1 "$BATCHES"); do
  "${ADB[@]}" shell "$DIR/executor_runner" -model_path "$DIR/model.pte" -num_executions "$PER_BATCH" -cpu_threads "$THREADS" > "$LOGS/run_$i.txt" 2>&1
  printf '.' >&2
done
echo >&2
DEVICE=$("${ADB[@]}" shell getprop ro.product.model | tr -d '\r')
OS="Android $("${ADB[@]}" shell getprop ro.build.version.release | tr -d '\r') (API $("${ADB[@]}" shell getprop ro.build.version.sdk | tr -d '\r'))"
PY=${PYTHON:-python3}
RESULT=$("$PY" -m mobilegan.bench.device_log --device "$DEVICE" --os "$OS" --model "$MODEL" \
  --precision "$PRECISION" --threads "$THREADS" --size "$SIZE" "$LOGS"/run_*.txt)
if [[ -n $OUT ]]; then printf '%s\n' "$RESULT" > "$OUT"; echo "wrote $OUT" >&2; else printf '%s\n' "$RESULT"; fi
