#!/usr/bin/env bash
# Trains the demo teacher shipped in mobilegan/demo/assets/ (exact command, seed and data).
# Data: `mobilegan.demo.photos.build_demo_data` (bundled scikit-image photos, seed 0).
# On this repo's 2-core CPU machine it takes well over an hour; on a GPU add --device cuda.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/demo-teacher}
DATA=${DATA:-runs/demo-data}
.venv/bin/python -c "from mobilegan.demo.photos import build_demo_data; build_demo_data('$DATA')"
exec .venv/bin/mobilegan train \
  --data-a "$DATA/trainA" --data-b "$DATA/trainB" \
  --generator resnet_6blocks --ngf 32 \
  --size 64 --load-size 72 --batch-size 1 \
  --steps "${STEPS:-3000}" --lambda-identity 0.1 --seed 0 \
  --save-every 500 --sample-every 1000 --no-progress \
  --out "$OUT" "$@"
