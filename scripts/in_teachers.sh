#!/usr/bin/env bash
# InstanceNorm teachers and the distillation table of BENCHMARKS.md ("Distilling InstanceNorm teachers").
# Fits two texture teachers (official and PyTorch-GAN layouts), takes the old InstanceNorm demo teacher
# from git history (official layout), fits a U-Net sketch teacher, then distils each with the demo's CPU recipe, the auto choice
# and today's crop targets. About 90 minutes on a 2-core CPU (two jobs at a time, one thread each).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
OUT=${OUT:-runs/in-teachers}
DATA=$OUT/demo-data
mkdir -p "$OUT"
export OMP_NUM_THREADS=1
$PY -c "from pathlib import Path; from mobilegan.demo.photos import build_demo_data; build_demo_data(Path('$DATA'))"
$PY scripts/fit_texture_teacher.py --style sketch --generator resnet_6blocks --ngf 32 --layout official \
    --crop 128 --batch 2 --steps 1200 --data "$DATA" --out "$OUT/sketch_official_r6/latest_net_G_A.pth" &
$PY scripts/fit_texture_teacher.py --style cartoon --generator resnet_9blocks --ngf 32 --layout pytorch_gan \
    --crop 96 --batch 4 --steps 1000 --seed 1 --data "$DATA" --out "$OUT/cartoon_pytorchgan_r9/G_AB_1000.pth" &
wait
# the U-Net teacher of BENCHMARKS.md "U-Net teachers" (about 13 minutes at one thread)
$PY scripts/fit_texture_teacher.py --style sketch --generator unet_128 --ngf 32 --layout official \
    --crop 128 --batch 2 --steps 1200 --data "$DATA" --out "$OUT/sketch_unet128/latest_net_G_A.pth" &
mkdir -p "$OUT/old_official_r6"
git show 11995f9:mobilegan/demo/assets/demo_teacher.pt > "$OUT/old_in_demo.pt"
$PY -c "
import torch
from mobilegan.checkpoints import load_generator_checkpoint
from mobilegan.checkpoints.foreign_write import to_foreign_state_dict
m = load_generator_checkpoint('$OUT/old_in_demo.pt').model
torch.save(to_foreign_state_dict(m, 'official'), '$OUT/old_official_r6/latest_net_G_A.pth')"
run() {  # name teacher [extra distill args]
    local name=$1 teacher=$2; shift 2
    .venv/bin/mobilegan distill --teacher "$teacher" --data-a "$DATA/trainA" --eval-data "$DATA/testA" \
        --size 64 --preprocess crop --batch-size 16 --steps 1250 --ssim 1 --eval-size 256 \
        --out "$OUT/runs/$name" --no-progress --json "$@" > "$OUT/$name.json"
}
S=$OUT/sketch_official_r6/latest_net_G_A.pth; O=$OUT/old_official_r6/latest_net_G_A.pth; C=$OUT/cartoon_pytorchgan_r9/G_AB_1000.pth
(run old_auto "$O"; run old_crop "$O" --targets crop; run cartoon_crop "$C" --targets crop) &
wait  # the U-Net fit and the first distillations
U=$OUT/sketch_unet128/latest_net_G_A.pth
(run sketch_auto "$S"; run cartoon_auto "$C"; run sketch_crop "$S" --targets crop) &
run unet_auto "$U" &
wait
$PY -c "
import json, glob
for f in sorted(glob.glob('$OUT/*_*.json')):
    d = json.load(open(f)); e = d['eval']
    print(f'| {f.split(\"/\")[-1][:-5]} | {d[\"student_config\"].get(\"context\", 0) and \"ctx\" or \"-\"} | {e[\"psnr_db\"]:.2f} | {e[\"psnr_db_min\"]:.2f} | {e[\"ssim\"]:.4f} | {d[\"seconds\"]:.0f} s |')"
