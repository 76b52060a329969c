"""Which image-wide context brings a context student closest to its teacher on photos larger than 256 px.

A context student (``mobile_s2d4_w025_ctx``) trains on 256 px images with the context of each whole
image. On a larger photo, "the teacher's output" is the teacher run on the whole photo at its own
resolution (every InstanceNorm takes that photo's statistics). This script upscales a photo by each
factor and scores, against that teacher output, the student checkpoint tiled with the context read
(a) from the photo at its own resolution (what ``translate`` does), (b) from the photo scaled to
about 256 x 256 pixels (what it did before), and (c) the student's fixed-size exported file, whose
tiles each read their own context. The "Context of a large photo" table of BENCHMARKS.md::

    .venv/bin/mobilegan demo --teacher instance --out runs/demo-instance
    .venv/bin/python scripts/context_scale.py runs/demo-instance
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from mobilegan.checkpoints import load_generator_checkpoint
from mobilegan.inference.exported import ExportedRunner
from mobilegan.inference.tiling import TileConfig, pad_to_multiple, plan_tiles, run_tiled, translate_tensor
from mobilegan.profile import receptive_field
from mobilegan.utils.progress import progress_bar

log = logging.getLogger("context_scale")
THUMB_SIDE = 256  # the training side: the context the checkpoint used to read on any photo


def _load(path: Path) -> torch.Tensor:  # (1, 3, H, W) in [-1, 1]
    arr = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 127.5 - 1
    return torch.from_numpy(arr).permute(2, 0, 1)[None]


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(10 * torch.log10(4.0 / ((a - b) ** 2).mean()))


def _thumbnail(x: torch.Tensor, side: int) -> torch.Tensor:
    """``x`` scaled to about ``side`` squared pixels, sides multiples of 4, aspect kept."""
    h, w = x.shape[-2:]
    scale = (side * side / (h * w)) ** 0.5
    size = (max(4, round(h * scale / 4) * 4), max(4, round(w * scale / 4) * 4))
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=scale < 1)


def _tiled_with(student: torch.nn.Module, x: torch.Tensor, film: torch.Tensor, rf: int) -> torch.Tensor:
    padded, (h, w) = pad_to_multiple(x)
    forward: Callable[[torch.Tensor], torch.Tensor] = lambda tile: student(tile, film=film)
    return run_tiled(forward, padded, plan_tiles(TileConfig(tile=512), rf))[..., :h, :w]


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", type=Path, help="a `mobilegan demo --teacher instance` run folder")
    p.add_argument("--scales", type=float, nargs="+", default=[1, 2, 3, 4], help="upscaling factors of the photo")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    photo = _load(args.run / "showcase" / "input.png")
    teacher = load_generator_checkpoint(args.run / "teacher" / "G_AB.pth").model.eval()
    student = load_generator_checkpoint(args.run / "distill" / "student.pt").model.eval()
    exported = ExportedRunner(next((args.run / "export").glob("*_fp32.pte")))
    rf = receptive_field(student)
    log.info("| photo (px) | own resolution (translate) | scaled to ~256 px squared "
             "| fixed-size .pte, own context per tile | own resolution vs .pte |")
    log.info("|---|---:|---:|---:|---:|")
    for scale in progress_bar(args.scales, desc="scales", unit="scale"):
        x = photo if scale == 1 else F.interpolate(photo, scale_factor=scale, mode="bicubic",
                                                  align_corners=False).clamp(-1, 1)
        with torch.no_grad():
            target = translate_tensor(teacher, x, TileConfig(tile=1024, stats_max_side=4096))
            own = translate_tensor(student, x, TileConfig(tile=512))
            thumb = _tiled_with(student, x, student.context_film(_thumbnail(pad_to_multiple(x)[0], THUMB_SIDE)), rf)
            pte = exported(x, TileConfig())
        log.info("| %d x %d | %.2f | %.2f | %.2f | %.2f |", x.shape[-1], x.shape[-2], _psnr(target, own),
                 _psnr(target, thumb), _psnr(target, pte), _psnr(own, pte))


if __name__ == "__main__":
    main()
