#!/usr/bin/env bash
# Reproduces the numbers committed in BENCHMARKS.md (run on an otherwise idle machine).
#   scripts/benchmarks.sh [STUDENT_CKPT]     default: the demo's distilled student, else a random-init one
# Writes everything under runs/benchmarks/.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=runs/benchmarks
mkdir -p "$OUT"
MG=.venv/bin/mobilegan
PY=.venv/bin/python

STUDENT=${1:-runs/demo/distill/student.pt}
if [[ ! -f $STUDENT ]]; then
  STUDENT=$OUT/student_random.pt
  $PY -c "import torch; torch.manual_seed(0); from mobilegan import create_model, save_generator; save_generator(create_model('mobile_w025'), '$STUDENT')"
fi
TEACHER=$OUT/resnet_9blocks.pt   # latency does not depend on the weights; seed 0
[[ -f $TEACHER ]] || $PY -c "import torch; torch.manual_seed(0); from mobilegan import create_model, save_generator; save_generator(create_model('resnet_9blocks'), '$TEACHER')"

$MG profile resnet_9blocks --size 256 --json > "$OUT/profile_teacher.json"
$MG profile "$STUDENT" --size 256 --json > "$OUT/profile_student.json"

# Exports at 256 px (parity checked). The teacher's int8 export is tried on its own: with random
# weights it may fail the 30 dB parity threshold, which must not cost the fp32 files.
$MG export "$STUDENT" --target executorch --target onnx --target litert --quantize int8 --size 256 --out "$OUT/student_256"
$MG export "$TEACHER" --target executorch --target onnx --target litert --size 256 --out "$OUT/teacher_256"
$MG export "$TEACHER" --target executorch --quantize int8 --size 256 --out "$OUT/teacher_256" \
  || echo "teacher int8: refused by the parity check (see above)" | tee "$OUT/teacher_int8.txt"

# Teacher vs student, every runtime, interleaved, same thread count.
$MG bench "$OUT/student_256" "$OUT/teacher_256" "$STUDENT" --teacher "$TEACHER" --size 256 \
  --threads 1,2 --runs 20 --warmup 3 --no-progress --json "$OUT/bench.json" --plot "$OUT/bench.png" | tee "$OUT/bench.txt"

# Latency vs MACs across the registry presets (eager, 1 thread).
$MG bench --sweep --size 256 --threads 1 --runs 5 --warmup 1 --no-progress --json "$OUT/sweep.json" --plot "$OUT/sweep.png" | tee "$OUT/sweep.txt"
