"""Which distillation recipe makes the closest twin of a teacher for a fixed CPU budget?

Every recipe (output L1; + feature taps; + SSIM; + PatchGAN; crop size) runs the same number of
steps over the same number of pixels per step (64 px x 4 = 128 px x 1), and its wall time is
recorded beside its score: the recipes cost about the same per step except the PatchGAN, whose
discriminator adds its own forward and backward passes. Students are scored against the teacher on the demo's held-out 256 px
blocks (PSNR / SSIM) and against the ground truth. Writes a Markdown table to stdout and JSON to
``--out``. The tables in BENCHMARKS.md ("Distillation recipe for the demo") came from runs like::

    OMP_NUM_THREADS=1 .venv/bin/python scripts/distill_recipes.py --teacher mobilegan/demo/assets/demo_teacher.pt \
        --steps 1250 --only "SSIM, 64 px crops, batch 16" --out runs/exp/b16

``--steps`` is per recipe: give a batch-8 recipe half the steps of a batch-4 one for equal pixels.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from mobilegan.checkpoints import load_generator
from mobilegan.demo.photos import build_demo_data
from mobilegan.demo.score import held_out, score_outputs
from mobilegan.distill.config import DistillConfig
from mobilegan.distill.losses import LossWeights
from mobilegan.distill.run import distill
from mobilegan.metrics import psnr, ssim

log = logging.getLogger("distill_recipes")


@dataclass(frozen=True)
class Recipe:
    name: str
    weights: LossWeights = LossWeights(recon=10.0, feat=0.0)
    size: int = 64
    batch: int = 4
    extra: dict[str, Any] = field(default_factory=dict)


RECIPES: tuple[Recipe, ...] = (
    Recipe("output L1"),
    Recipe("L1 + feature taps (the CLI default)", LossWeights(recon=10.0, feat=1.0)),
    Recipe("L1 + taps + SSIM", LossWeights(recon=10.0, feat=1.0, ssim=1.0)),
    Recipe("L1 + taps + PatchGAN", LossWeights(recon=10.0, feat=1.0, gan=1.0)),
    Recipe("L1 + taps, 128 px crops, batch 1", LossWeights(recon=10.0, feat=1.0), size=128, batch=1),
    Recipe("L1 + taps + SSIM, 128 px crops, batch 1", LossWeights(recon=10.0, feat=1.0, ssim=1.0), size=128, batch=1),
    Recipe("L1 + taps + SSIM, lr 1e-3", LossWeights(recon=10.0, feat=1.0, ssim=1.0), extra={"lr": 1e-3}),
    Recipe("L1 + taps + SSIM, lr 4e-3", LossWeights(recon=10.0, feat=1.0, ssim=1.0), extra={"lr": 4e-3}),
    Recipe("L1 + taps + SSIM, 64 px crops, batch 8", LossWeights(recon=10.0, feat=1.0, ssim=1.0), batch=8),
    Recipe("L1 + taps + SSIM, 64 px crops, batch 8, lr 4e-3", LossWeights(recon=10.0, feat=1.0, ssim=1.0), batch=8,
           extra={"lr": 4e-3}),
    Recipe("L1 + taps + SSIM, 64 px crops, batch 16", LossWeights(recon=10.0, feat=1.0, ssim=1.0), batch=16),
    Recipe("L1 + taps + SSIM, 64 px crops, batch 16, lr 4e-3", LossWeights(recon=10.0, feat=1.0, ssim=1.0), batch=16,
           extra={"lr": 4e-3}),
    Recipe("L1 + taps + SSIM, 64 px crops, batch 32", LossWeights(recon=10.0, feat=1.0, ssim=1.0), batch=32),
    Recipe("L1 + taps + SSIM + PatchGAN, 64 px crops, batch 16", LossWeights(recon=10.0, feat=1.0, ssim=1.0, gan=1.0),
           batch=16),
    Recipe("L1 + taps + SSIM + PatchGAN, 128 px crops, batch 1", LossWeights(recon=10.0, feat=1.0, ssim=1.0, gan=1.0),
           size=128, batch=1),
)


def _config(recipe: Recipe, teacher: Path, data_root: Path, out: Path, steps: int) -> DistillConfig:
    data = build_demo_data(data_root)
    return DistillConfig(teacher=teacher, data_a=data.train_a, data_b=data.train_b, eval_data=data.test_a,
                         out_dir=out, size=recipe.size, preprocess="crop", eval_size=256, steps=steps,
                         batch_size=recipe.batch, weights=recipe.weights, device="cpu", save_every=0,
                         sample_every=0, progress=False, **recipe.extra)


@torch.no_grad()
def _score(teacher: Path, student: Path, data_root: Path) -> dict[str, float]:
    inputs, truth = held_out(build_demo_data(data_root), 256)
    t_out, s_out = load_generator(teacher).eval()(inputs), load_generator(student).eval()(inputs)
    vs_truth = score_outputs(s_out, inputs, truth)
    return {"psnr_vs_teacher": round(float(psnr(s_out, t_out).mean()), 2),
            "ssim_vs_teacher": round(float(ssim(s_out, t_out).mean()), 4),
            "psnr_vs_truth": vs_truth.psnr_db, "ssim_vs_truth": vs_truth.ssim}


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--teacher", type=Path, required=True)
    p.add_argument("--data", type=Path, default=Path("runs/demo-data"))
    p.add_argument("--steps", type=int, default=1500, help="steps per recipe (every recipe sees the same pixels)")
    p.add_argument("--out", type=Path, default=Path("runs/recipes"))
    p.add_argument("--only", nargs="*", help="run only recipes whose name contains one of these")
    args = p.parse_args()
    torch.set_num_threads(1)
    rows = []
    for i, recipe in enumerate(RECIPES):
        if args.only and not any(s in recipe.name for s in args.only):
            continue
        shutil.rmtree(args.out / f"r{i}", ignore_errors=True)  # a scratch run of an earlier invocation
        steps = args.steps
        start = time.perf_counter()
        result = distill(_config(recipe, args.teacher, args.data, args.out / f"r{i}", steps))
        if result.interrupted:
            log.info("interrupted: stopping (finished rows are in %s)", args.out / "recipes.json")
            return
        row = {"recipe": recipe.name, "weights": asdict(recipe.weights), "crop": recipe.size, "batch": recipe.batch,
               "steps": steps, "seconds": round(time.perf_counter() - start, 1),
               "images_per_s": round(result.images_per_s, 1),
               **_score(args.teacher, result.student_path, args.data)}
        rows.append(row)
        log.info("| %s | %d px x %d | %d | %.0f s | %.2f dB | %.4f | %.2f dB |", row["recipe"], row["crop"],
                 row["batch"], row["steps"], row["seconds"], row["psnr_vs_teacher"], row["ssim_vs_teacher"],
                 row["psnr_vs_truth"])
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "recipes.json").write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
