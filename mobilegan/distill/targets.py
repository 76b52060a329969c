"""Where the teacher's targets come from: the training crop, or the whole image (cached on disk).

A teacher whose layers normalise per image (InstanceNorm: every official and PyTorch-GAN
checkpoint) computes a different picture on a crop than on the whole photo, because its
statistics come from whatever it sees (BENCHMARKS.md, "Distilling InstanceNorm teachers"). So
for such teachers the targets are the teacher's output on the *whole* training image, resized to
the side the student will run at (``side``; the app's input size), computed once into a
memory-mapped cache on disk (:mod:`mobilegan.distill.target_cache`), and training takes crops of
(input, target) pairs, or the whole pair for students that normalise per image themselves. A
BatchNorm or norm-free teacher is local: its output on a crop is the crop of its output, so it
keeps computing targets on the fly ("crop" scheme).

Each photo is cached as itself, mirrored left-right, and in ``tone_views`` recoloured copies
(:mod:`mobilegan.distill.views`); every other augmentation would change the teacher's output and
need a new pass.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from typing import Literal

import torch
from torch.utils.data import Dataset

from mobilegan.distill.target_cache import TargetCache
from mobilegan.distill.views import to_unit
from mobilegan.errors import DataError

log = logging.getLogger(__name__)

TargetKind = Literal["crop", "whole"]


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

    ``ds[k]`` is deterministic in ``(seed, k)``: the photo, the view and the crop position.
    """

    def __init__(self, cache: TargetCache, *, crop: int, seed: int = 0, name: str = "A", with_whole: bool = False,
                 align: int = 1) -> None:
        side = cache.spec.side
        if crop > side:
            raise DataError(f"training crop {crop} is larger than the whole-image side {side}")
        self.cache, self.side, self.crop, self.seed, self.name = cache, side, crop, seed, name
        self.align = max(1, align)
        self.with_whole = with_whole  # add "W": the whole input, for students with a context branch
        self.photos = cache.usable()

    def __len__(self) -> int:
        return len(self.photos) * self.cache.spec.views

    def __getitem__(self, k: int) -> dict[str, torch.Tensor]:
        rng = random.Random(f"{self.seed}:{self.name}:targets:{int(k)}")
        i = self.photos[rng.randrange(len(self.photos))]
        v = rng.randrange(self.cache.spec.views)
        whole = to_unit(self.cache.view(i, v))
        x, t = whole, to_unit(self.cache.target(i, v))
        if self.crop < self.side:
            # Corners on the grid the teacher's strided layers and the student's space-to-depth work on:
            # a crop at another phase shows the student the teacher's grid-locked patterns (transposed
            # conv checkerboards) shifted, which no phase-locked student can reproduce.
            positions = (self.side - self.crop) // self.align + 1
            r, c = rng.randrange(positions) * self.align, rng.randrange(positions) * self.align
            x, t = x[:, r : r + self.crop, c : c + self.crop], t[:, r : r + self.crop, c : c + self.crop]
        return {"A": x, "T": t, "W": whole} if self.with_whole else {"A": x, "T": t}
