"""Where the teacher's targets come from: the training crop, or the whole image (cached).

A teacher whose layers normalise per image (InstanceNorm: every official and PyTorch-GAN
checkpoint) computes a different picture on a crop than on the whole photo, because its
statistics come from whatever it sees (BENCHMARKS.md, "Distilling InstanceNorm teachers"). So
for such teachers the targets are the teacher's output on the *whole* training image, resized to
the side the student will run at (``side``; the app's input size), computed once and kept in
memory, and training takes crops of (input, target) pairs, or the whole pair for students that
normalise per image themselves. A BatchNorm or norm-free teacher is local: its output on a crop
is the crop of its output, so it keeps computing targets on the fly ("crop" scheme).

Each image is cached as itself and mirrored left-right (``VIEWS``), the flip augmentation of
training; every other augmentation would change the teacher's output and need a new pass.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from torch import nn
from torch.utils.data import Dataset
from mobilegan.utils.progress import progress_bar

from mobilegan.data.decode import ImageDecodeError, load_image_rgb
from mobilegan.data.transforms import AugmentConfig, eval_view
from mobilegan.errors import DataError

log = logging.getLogger(__name__)

TargetKind = Literal["crop", "whole"]
VIEWS = 2  # the image and its left-right mirror
TEACHER_BATCH = 4


@dataclass(frozen=True)
class TargetPlan:
    """How one distillation run gets its targets (chosen by :func:`mobilegan.distill.recipe.plan_recipe`)."""

    kind: TargetKind
    side: int  # "whole": the side the whole image is resized to for the teacher (and the student)
    crop: int  # side of the training samples; == side: whole images
    align: int = 1  # "whole": crop corners lie on this grid (the teacher's and student's pixel grid period)


class WholeImageTargets(Dataset):
    """Training pairs ``{"A": input, "T": teacher(whole input)}``, crops of cached whole images (and
    ``"W"``, the whole input, with ``with_whole``).

    ``ds[k]`` is deterministic in ``(seed, k)``: the view, and the crop position when ``crop < side``.
    Inputs are kept as uint8 and targets as float16 (0.6 MB per 256 px view).
    """

    def __init__(self, files: Sequence[Path], teacher: nn.Module, *, side: int, crop: int, device: torch.device,
                 seed: int = 0, name: str = "A", progress: bool = True, with_whole: bool = False,
                 align: int = 1) -> None:
        if crop > side:
            raise DataError(f"training crop {crop} is larger than the whole-image side {side}")
        self.side, self.crop, self.seed, self.name = side, crop, seed, name
        self.align = max(1, align)
        self.with_whole = with_whole  # add "W": the whole input, for students with a context branch
        aug = AugmentConfig(size=side)
        images: list[torch.Tensor] = []
        for f in files:
            try:
                images.append(eval_view(load_image_rgb(f), aug))
            except ImageDecodeError as exc:
                log.warning("skipping unreadable image %s", exc)
        if not images:
            raise DataError(f"domain {name}: no readable image for the teacher's targets")
        inputs = torch.stack(images)
        inputs = torch.cat([inputs, inputs.flip(-1)])  # (VIEWS * N, 3, side, side)
        self.inputs = ((inputs + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
        self.targets = self._teacher_outputs(teacher, self.inputs, device, progress)
        log.info("teacher targets: %d whole %d px images x %d views, cached (%.0f MB)", len(images), side, VIEWS,
                 (self.inputs.numel() + 2 * self.targets.numel()) / 2**20)

    @staticmethod
    @torch.no_grad()
    def _teacher_outputs(teacher: nn.Module, inputs: torch.Tensor, device: torch.device, progress: bool
                         ) -> torch.Tensor:
        teacher.eval()
        out = []
        for i in progress_bar(range(0, len(inputs), TEACHER_BATCH), desc="teacher targets", unit="batch",
                              disable=not progress):
            x = inputs[i : i + TEACHER_BATCH].to(device).float() / 127.5 - 1
            out.append(teacher(x).clamp(-1, 1).to("cpu", torch.float16))
        return torch.cat(out)

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, k: int) -> dict[str, torch.Tensor]:
        rng = random.Random(f"{self.seed}:{self.name}:targets:{int(k)}")
        i = rng.randrange(len(self.inputs))
        whole = self.inputs[i].float() / 127.5 - 1
        x, t = whole, self.targets[i].float()
        if self.crop < self.side:
            # Corners on the grid the teacher's strided layers and the student's space-to-depth work on:
            # a crop at another phase shows the student the teacher's grid-locked patterns (transposed
            # conv checkerboards) shifted, which no phase-locked student can reproduce.
            positions = (self.side - self.crop) // self.align + 1
            r, c = rng.randrange(positions) * self.align, rng.randrange(positions) * self.align
            x, t = x[:, r : r + self.crop, c : c + self.crop], t[:, r : r + self.crop, c : c + self.crop]
        return {"A": x, "T": t, "W": whole} if self.with_whole else {"A": x, "T": t}
