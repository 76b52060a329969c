"""The views of a training photo that the teacher's whole-image targets are computed on.

View 0 is the photo, view 1 its left-right mirror (the flip augmentation of training). Views 2..
are *recoloured* copies: a per-channel gain, an exposure (gamma) and a saturation change drawn
per photo and view from the run's seed, each mirrored or not. An InstanceNorm teacher renders a
photo's tone from the whole image's statistics; a student that saw only the training set's
colours breaks on a new photo whose colours it never met (a saturated blue sky turned black,
BENCHMARKS.md "Real photos"). Recoloured copies, with the teacher's own output on each, show the
student those colours. Every view is a pure function of the stored uint8 photo and
``(seed, photo, view)``: the cache stores the photo once and rebuilds a view when a sample needs it,
bit for bit as the teacher saw it.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import torch

PLAIN_VIEWS = 2  # the photo and its mirror


@dataclass(frozen=True)
class Recolour:
    """One recolouring of a photo in [0, 1]: ``((x * gain) ** gamma)`` then saturation about the grey."""

    gain: tuple[float, float, float]  # per channel (white balance)
    gamma: float  # exposure / tone curve
    saturation: float  # 0 = grey, 1 = unchanged
    mirror: bool

    @classmethod
    def draw(cls, rng: random.Random) -> Recolour:
        # Ranges wide enough to cover a graded or badly exposed photo, narrow enough to stay a photo.
        gain = tuple(math.exp(rng.uniform(-0.35, 0.35)) for _ in range(3))
        return cls(gain=gain, gamma=math.exp(rng.uniform(-0.6, 0.6)),  # type: ignore[arg-type]
                   saturation=rng.uniform(0.3, 1.7), mirror=rng.random() < 0.5)

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        """(3, H, W) uint8 -> (3, H, W) uint8, the recoloured photo (quantised as a camera would)."""
        y = x.float() / 255.0
        y = (y * torch.tensor(self.gain).view(3, 1, 1)).clamp(0, 1) ** self.gamma
        grey = (0.299 * y[0] + 0.587 * y[1] + 0.114 * y[2]).unsqueeze(0)  # (1, H, W) luma
        y = (grey + self.saturation * (y - grey)).clamp(0, 1)
        out = (y * 255.0).round().to(torch.uint8)
        return out.flip(-1) if self.mirror else out


def view_count(tone_views: int) -> int:
    return PLAIN_VIEWS + tone_views


def make_view(photo: torch.Tensor, view: int, *, seed: int, index: int) -> torch.Tensor:
    """View ``view`` of the ``index``-th photo of a cache, (3, H, W) uint8, deterministic."""
    if view == 0:
        return photo
    if view == 1:
        return photo.flip(-1)
    return Recolour.draw(random.Random(f"{seed}:recolour:{index}:{view}")).apply(photo)


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1], the networks' input range."""
    return x.float() / 127.5 - 1


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """float [-1, 1] -> uint8 [0, 255], the precision an image file (and the app) has."""
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
