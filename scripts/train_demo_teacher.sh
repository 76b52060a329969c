#!/usr/bin/env bash
# Trains the demo teacher shipped in mobilegan/demo/assets/ (exact command, seed and data).
# Data: `mobilegan.demo.photos.build_demo_data` (bundled scikit-image photos, seed 0).
# Crops of 32 px taken from the 72 px blocks (same scale as the 64 px held-out images, 4x cheaper
# steps), judged by a 16x16 PatchGAN (local colour and texture; with 66 training blocks the 70x70
# one memorises whole images). On this repo's 2-core CPU machine 16000 steps take about
# 35 minutes; on a GPU add --device cuda and raise STEPS.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/demo-teacher}
DATA=${DATA:-runs/demo-data}
.venv/bin/python -c "from mobilegan.demo.photos import build_demo_data; build_demo_data('$DATA')"
exec .venv/bin/mobilegan train \
  --data-a "$DATA/trainA" --data-b "$DATA/trainB" \
  --generator resnet_6blocks --ngf "${NGF:-32}" --discriminator patchgan_16 \
  --size "${SIZE:-32}" --load-size 72 --batch-size 1 \
  --steps "${STEPS:-16000}" --lambda-identity "${IDT:-0.5}" --seed 0 \
  --save-every 1000 --sample-every 2000 --no-progress \
  --out "$OUT" "$@"
