"""Fit a realistic InstanceNorm teacher to a texture look and save it as another code base would.

Users bring InstanceNorm generators (every official pytorch-CycleGAN-and-pix2pix and PyTorch-GAN
checkpoint). No such weights may be downloaded here, so this script makes some: a paper-layout
generator (InstanceNorm, reflection padding) is fitted with *paired* L1 to a texture look of
:mod:`mobilegan.demo.texture_styles` on random crops of the demo's training blocks (crops smaller
than the 256 px photos it is scored on, as real teachers are trained on crops), then written as
the official ``latest_net_G_A.pth`` or PyTorch-GAN ``G_AB_<epoch>.pth`` state dict. The teachers of
BENCHMARKS.md ("Distilling InstanceNorm teachers") came from ``scripts/in_teachers.sh``.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from mobilegan.checkpoints.foreign_write import FOREIGN_LAYOUTS, to_foreign_state_dict
from mobilegan.data.decode import list_images
from mobilegan.demo.photos import build_demo_data
from mobilegan.demo.texture_styles import TEXTURE_STYLES
from mobilegan.distill.evaluate import load_folder
from mobilegan.metrics import psnr, ssim
from mobilegan.models.registry import create_model
from mobilegan.train.init import init_model

log = logging.getLogger("fit_texture_teacher")


def _to_tensor(rgb01: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(rgb01, dtype=np.float32)).permute(2, 0, 1) * 2 - 1


def _pairs(blocks: list[np.ndarray], targets: list[np.ndarray], crop: int, batch: int, rng: random.Random
           ) -> tuple[torch.Tensor, torch.Tensor]:
    xs, ys = [], []
    for _ in range(batch):
        k = rng.randrange(len(blocks))
        y0, x0 = rng.randrange(blocks[k].shape[0] - crop + 1), rng.randrange(blocks[k].shape[1] - crop + 1)
        x, y = blocks[k][y0:y0 + crop, x0:x0 + crop], targets[k][y0:y0 + crop, x0:x0 + crop]
        if rng.random() < 0.5:
            x, y = x[:, ::-1], y[:, ::-1]
        xs.append(_to_tensor(x / 255.0))
        ys.append(_to_tensor(y))
    return torch.stack(xs), torch.stack(ys)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--style", choices=sorted(TEXTURE_STYLES), required=True)
    p.add_argument("--generator", default="resnet_6blocks")
    p.add_argument("--ngf", type=int, default=32)
    p.add_argument("--layout", choices=FOREIGN_LAYOUTS, default="official")
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--crop", type=int, default=128)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", type=Path, default=Path("runs/demo-data"))
    p.add_argument("--out", type=Path, required=True, help="the .pth file to write")
    args = p.parse_args()
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    style = TEXTURE_STYLES[args.style]
    data = build_demo_data(args.data)
    # Targets are styled on the whole 256 px block, then cropped: the look's local statistics
    # come from the block, like the truth of the held-out blocks.
    blocks = [np.asarray(Image.open(f).convert("RGB")) for f in list_images(data.train_a)]
    targets = [style(b) for b in blocks]
    upsample = "transpose" if args.layout == "official" else "nearest_conv"
    switches = {"norm": "instance"} if "unet" in args.generator else {"norm": "instance", "padding": "reflect",
                                                                       "upsample": upsample}
    model = init_model(create_model(args.generator, ngf=args.ngf, **switches))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.5, 0.999))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, 2.0 * (1 - s / args.steps)))
    start = time.perf_counter()
    model.train()
    for _ in tqdm(range(args.steps), desc=f"fit {args.style} ({args.generator}, ngf {args.ngf})", unit="step"):
        x, y = _pairs(blocks, targets, args.crop, args.batch, rng)
        loss = (model(x) - y).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    model.eval()
    inputs = load_folder(data.test_a, 256, name="held-out A")
    truth = torch.stack([_to_tensor(style(np.asarray(Image.open(f).convert("RGB"))))
                         for f in list_images(data.test_a)])
    with torch.no_grad():
        out = torch.cat([model(inputs[i:i + 4]) for i in range(0, len(inputs), 4)])
    scores = {"psnr_db_vs_truth": round(float(psnr(out, truth).mean()), 3),
              "ssim_vs_truth": round(float(ssim(out, truth).mean()), 4),
              "identity_psnr_db": round(float(psnr(inputs, truth).mean()), 3)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(to_foreign_state_dict(model, args.layout), args.out)
    meta = {**{k: str(v) for k, v in vars(args).items()}, **scores, "seconds": round(time.perf_counter() - start)}
    args.out.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    log.info("%s: %s", args.out, json.dumps(scores))


if __name__ == "__main__":
    main()
