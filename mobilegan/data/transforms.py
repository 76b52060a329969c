"""Paper augmentation (resize to ``load_size``, random crop ``size``, random flip) as pure functions.

Every random choice comes from a ``random.Random`` the caller passes in, so a sample is a pure
function of (seed, sample index): resuming a run replays exactly the same crops and flips.
Images become float tensors ``(3, H, W)`` in [-1, 1], the generators' input range.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from PIL import Image

from mobilegan.errors import ConfigError

Preprocess = Literal["resize_crop", "crop", "none"]
PREPROCESS_MODES: tuple[str, ...] = ("resize_crop", "crop", "none")
MULTIPLE = 4  # the generators have two stride-2 stages


def default_load_size(size: int) -> int:
    """The paper's 286 for a 256 crop, scaled for other crops (e.g. 36 for 32)."""
    return int(round(size * 286 / 256))


@dataclass(frozen=True)
class AugmentConfig:
    """How training images are prepared.

    ``resize_crop``: resize to ``load_size`` x ``load_size``, random crop ``size`` (the paper).
    ``crop``: random crop ``size`` from the image at its own scale (upscaled when smaller).
    ``none``: the whole image, right/bottom edges padded to a multiple of 4 (batch size 1).
    """

    size: int = 256
    load_size: int | None = None  # None: default_load_size(size)
    flip: bool = True
    preprocess: Preprocess = "resize_crop"

    def __post_init__(self) -> None:
        if self.size <= 0 or self.size % MULTIPLE:
            raise ConfigError(f"size must be a positive multiple of {MULTIPLE} (got {self.size})")
        if self.preprocess not in PREPROCESS_MODES:
            raise ConfigError(f"unknown preprocess {self.preprocess!r}; choose one of {', '.join(PREPROCESS_MODES)}")
        if self.load_size is not None and self.load_size < self.size:
            raise ConfigError(f"load size ({self.load_size}) must be >= size ({self.size})")

    @property
    def effective_load_size(self) -> int:
        return self.load_size if self.load_size is not None else default_load_size(self.size)


def to_tensor(img: Image.Image) -> torch.Tensor:
    """RGB ``PIL.Image`` -> float tensor (3, H, W) in [-1, 1]."""
    arr = np.asarray(img, dtype=np.uint8)  # (H, W, 3)
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).float().div_(127.5).sub_(1.0)


def to_image(tensor: torch.Tensor) -> Image.Image:
    """Float tensor (3, H, W) in [-1, 1] -> RGB ``PIL.Image`` (values clipped)."""
    arr = ((tensor.detach().float().cpu().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    return Image.fromarray(arr.permute(1, 2, 0).numpy(), mode="RGB")


def pad_to_multiple(img: Image.Image, multiple: int = MULTIPLE) -> Image.Image:
    """Pad right and bottom by edge replication so both sides are multiples of ``multiple``."""
    w, h = img.size
    pw, ph = (-w) % multiple, (-h) % multiple
    if not pw and not ph:
        return img
    arr = np.pad(np.asarray(img), ((0, ph), (0, pw), (0, 0)), mode="edge")
    return Image.fromarray(arr, mode="RGB")


def _cover(img: Image.Image, side: int) -> Image.Image:
    """Upscale so the short side is at least ``side`` (keeps the aspect ratio)."""
    w, h = img.size
    if min(w, h) >= side:
        return img
    scale = side / min(w, h)
    return img.resize((max(side, round(w * scale)), max(side, round(h * scale))), Image.Resampling.BICUBIC)


def _random_crop(img: Image.Image, size: int, rng: random.Random) -> Image.Image:
    w, h = img.size
    x = rng.randint(0, w - size)
    y = rng.randint(0, h - size)
    return img.crop((x, y, x + size, y + size))


def augment(img: Image.Image, cfg: AugmentConfig, rng: random.Random) -> torch.Tensor:
    """One training view of ``img`` (3, size, size), or the padded whole image for ``none``."""
    if cfg.preprocess == "resize_crop":
        load = cfg.effective_load_size
        img = _random_crop(img.resize((load, load), Image.Resampling.BICUBIC), cfg.size, rng)
    elif cfg.preprocess == "crop":
        img = _random_crop(_cover(img, cfg.size), cfg.size, rng)
    else:
        img = pad_to_multiple(img)
    if cfg.flip and rng.random() < 0.5:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return to_tensor(img)


def eval_view(img: Image.Image, cfg: AugmentConfig) -> torch.Tensor:
    """A deterministic view for sample grids: resized to ``size`` x ``size`` (padded whole image for ``none``)."""
    if cfg.preprocess == "none":
        return to_tensor(pad_to_multiple(img))
    return to_tensor(img.resize((cfg.size, cfg.size), Image.Resampling.BICUBIC))
