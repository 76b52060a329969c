"""Can a generator family represent the demo style at all? A paired L1 fit, before any long CycleGAN run.

Trains one generator with *paired* data (random crops of the demo's domain-A blocks and their
``stylize`` ground truth) and scores it on the held-out 256 px blocks against the truth and
against the identity baseline. If a paired fit cannot get well above the identity, an unpaired
CycleGAN of the same family will not either (DESIGN.md section 3). The table in BENCHMARKS.md
("Can the teacher represent the style?") came from::

    OMP_NUM_THREADS=1 .venv/bin/python scripts/paired_fit.py --norm instance --padding reflect
    OMP_NUM_THREADS=1 .venv/bin/python scripts/paired_fit.py --norm none --padding reflect
    OMP_NUM_THREADS=1 .venv/bin/python scripts/paired_fit.py --norm batch --padding reflect
"""

from __future__ import annotations

import argparse
import logging
import random
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from mobilegan.data.decode import list_images
from mobilegan.demo.photos import build_demo_data
from mobilegan.demo.score import score_generator
from mobilegan.demo.style import stylize
from mobilegan.models.registry import create_model
from mobilegan.train.init import init_model

log = logging.getLogger("paired_fit")


def _pairs(blocks: list[np.ndarray], crop: int, batch: int, rng: random.Random) -> tuple[torch.Tensor, torch.Tensor]:
    xs, ys = [], []
    for _ in range(batch):
        block = blocks[rng.randrange(len(blocks))]
        y0, x0 = rng.randrange(block.shape[0] - crop + 1), rng.randrange(block.shape[1] - crop + 1)
        patch = block[y0 : y0 + crop, x0 : x0 + crop]
        xs.append(torch.from_numpy(patch.copy()).permute(2, 0, 1).float() / 127.5 - 1)
        ys.append(torch.from_numpy(stylize(patch)).permute(2, 0, 1) * 2 - 1)
    return torch.stack(xs), torch.stack(ys)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--generator", default="resnet_6blocks")
    p.add_argument("--ngf", type=int, default=32)
    p.add_argument("--norm", default="instance", choices=("instance", "batch", "none"))
    p.add_argument("--padding", default="reflect", choices=("reflect", "zero"))
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--crop", type=int, default=32)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--data", type=Path, default=Path("runs/demo-data"))
    args = p.parse_args()
    torch.manual_seed(0)
    rng = random.Random(0)
    data = build_demo_data(args.data)
    blocks = [np.asarray(Image.open(f).convert("RGB")) for f in list_images(data.train_a)]
    model = init_model(create_model(args.generator, ngf=args.ngf, norm=args.norm, padding=args.padding))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.5, 0.999))
    start = time.perf_counter()
    for _ in tqdm(range(args.steps), desc=f"paired fit ({args.norm}, {args.padding})", unit="step"):
        x, y = _pairs(blocks, args.crop, args.batch, rng)
        loss = (model(x) - y).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    score = score_generator(model, data, 256)
    log.info("| %s ngf %d | %s | %s | %d x %d px x %d | %.2f | %.4f | %.2f | %.4f | %+.2f | %.0f s |",
             args.generator, args.ngf, args.norm, args.padding, args.steps, args.crop, args.batch, score.psnr_db,
             score.ssim, score.identity_psnr_db, score.identity_ssim, score.gain_db, time.perf_counter() - start)


if __name__ == "__main__":
    main()
