#!/usr/bin/env bash
# Trains the demo teacher shipped in mobilegan/demo/assets/ (exact command, seed and data).
# Data: `mobilegan.demo.photos.build_demo_data` (ten bundled photos, 256 px blocks, seed 0; both
# domains are the same training pool, B stylized, drawn independently: unpaired).
# The paper's resnet_6blocks generator (ngf 32) with the official `--norm none`: InstanceNorm
# removes each channel's mean and scale, so it cannot see the mean colour and contrast that the
# demo's colour grade changes (DESIGN.md section 3; the paired-fit table in BENCHMARKS.md).
# Random 32 px crops of the blocks at their own scale, judged by a 16x16 PatchGAN (local colour
# and texture). Nearest x2 + 3x3 conv upsampling (PyTorch-GAN's) instead of the transposed conv:
# no checkerboard. Cycle weight 5 (the paper's 10 made the grade flatter: the cycle term favours
# maps it can invert, and the grade's clipped highlights cannot be). On a GPU add --device cuda
# and raise STEPS.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/demo-teacher}
DATA=${DATA:-runs/demo-data}
.venv/bin/python -c "from mobilegan.demo.photos import build_demo_data; build_demo_data('$DATA')"
exec .venv/bin/mobilegan train \
  --data-a "$DATA/trainA" --data-b "$DATA/trainB" \
  --generator resnet_6blocks --ngf "${NGF:-32}" --norm none --upsample nearest_conv --discriminator patchgan_16 \
  --size "${SIZE:-32}" --preprocess crop --batch-size "${BATCH:-1}" \
  --steps "${STEPS:-8000}" --lambda-cycle "${CYCLE:-5}" --lambda-identity "${IDT:-0.5}" --seed 0 \
  --save-every 500 --sample-every 1000 --no-progress \
  --out "$OUT" "$@"
