"""Images for int8 calibration and parity checks, all NCHW float RGB in [0, 1].

Where they come from, in order:

1. ``--calib-data DIR`` (decoded with :mod:`mobilegan.data`);
2. the distillation images recorded in the checkpoint (``meta["distill"]["data_a"]`` or
   ``meta["data_a"]``), when that folder still exists;
3. a documented fallback: fixed synthetic "natural-looking" images (seeded 1/f colour
   noise, which has the power spectrum of photographs, plus a few hard-edged shapes so
   edges and flat regions are both present). Nothing is downloaded.

Parity uses images held out from calibration whenever a folder has more than enough.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps

from mobilegan.errors import DataError

log = logging.getLogger(__name__)

CALIB_IMAGES = 16
TEST_IMAGES = 4
CALIB_SEED = 0
TEST_SEED = 1


@dataclass(frozen=True)
class ImageSet:
    calib: torch.Tensor  # (N, 3, H, W) in [0, 1]
    test: torch.Tensor  # (M, 3, H, W) in [0, 1]
    source: str  # for logs and the model card


def synthetic_images(n: int, size: tuple[int, int], *, seed: int) -> torch.Tensor:
    """``n`` fixed natural-looking images (N, 3, H, W) in [0, 1]: same seed, same pixels."""
    h, w = size
    gen = torch.Generator().manual_seed(seed)
    fy = torch.fft.fftfreq(h).view(-1, 1)
    fx = torch.fft.fftfreq(w).view(1, -1)
    # Amplitude ~ 1/f^1.5: photographs sit near 1/f; a little steeper reads as smooth scenery.
    amplitude = torch.sqrt(fx**2 + fy**2).clamp_min(1.0 / max(h, w)) ** -1.5
    out = []
    for _ in range(n):
        spectrum = torch.randn(3, h, w, generator=gen) + 1j * torch.randn(3, h, w, generator=gen)
        field = torch.fft.ifft2(spectrum * amplitude).real  # (3, H, W)
        # Colour: one strong luminance field, weaker chroma fields mixed in.
        mix = torch.tensor([[1.0, 0.25, 0.1], [1.0, -0.2, 0.15], [1.0, 0.05, -0.3]])
        img = torch.einsum("ck,khw->chw", mix, field)
        img = (img - img.mean()) / (img.std() + 1e-8) * 0.18 + 0.5
        img = _add_shapes(img, gen)
        out.append(img.clamp(0.02, 0.98))
    return torch.stack(out)


def _add_shapes(img: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    _, h, w = img.shape
    yy = torch.arange(h).view(-1, 1).float()
    xx = torch.arange(w).view(1, -1).float()
    for _ in range(3):
        cy, cx = float(torch.rand(1, generator=gen)) * h, float(torch.rand(1, generator=gen)) * w
        radius = (0.08 + 0.2 * float(torch.rand(1, generator=gen))) * min(h, w)
        colour = torch.rand(3, 1, 1, generator=gen) * 0.8 + 0.1
        mask = ((yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2).float()
        img = img * (1 - mask) + (0.7 * colour + 0.3 * img) * mask
    return img


def _load_resized(path: Path, size: tuple[int, int]) -> torch.Tensor:
    from mobilegan.data.decode import load_image_rgb

    img = load_image_rgb(path, draft_size=max(size))
    img = ImageOps.fit(img, (size[1], size[0]), method=Image.Resampling.BICUBIC)  # cover + centre crop
    arr = np.asarray(img, dtype=np.uint8)  # (H, W, 3)
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).float() / 255.0


def load_folder(folder: Path, size: tuple[int, int], *, limit: int) -> torch.Tensor:
    """Up to ``limit`` images of ``folder`` (evenly spread over its sorted list)."""
    from mobilegan.data.decode import ImageDecodeError, list_images

    paths = list_images(folder)
    if not paths:
        raise DataError(f"{folder}: no images found (png, jpg, ...)")
    step = max(1, len(paths) / limit)
    chosen = [paths[int(i * step)] for i in range(min(limit, len(paths)))]
    tensors = []
    for path in chosen:
        try:
            tensors.append(_load_resized(path, size))
        except ImageDecodeError as exc:
            log.warning("skipping %s", exc)
    if not tensors:
        raise DataError(f"{folder}: none of the images could be decoded")
    return torch.stack(tensors)


def data_folder_from_meta(meta: dict[str, Any]) -> Path | None:
    """The distillation images recorded in a checkpoint's metadata, if that folder exists."""
    for value in ((meta.get("distill") or {}).get("data_a") if isinstance(meta.get("distill"), dict) else None,
                  meta.get("data_a")):
        if isinstance(value, str) and Path(value).is_dir():
            return Path(value)
    return None


def select_images(*, calib_data: Path | None, meta: dict[str, Any], size: tuple[int, int],
                  n_calib: int = CALIB_IMAGES, n_test: int = TEST_IMAGES) -> ImageSet:
    """Calibration and parity images from the first source available (see module doc)."""
    folder, origin = calib_data, "--calib-data"
    if folder is None:
        folder, origin = data_folder_from_meta(meta), "the checkpoint's distillation data"
    if folder is None:
        log.info("no calibration images given or recorded: using %d fixed synthetic images", n_calib)
        return ImageSet(calib=synthetic_images(n_calib, size, seed=CALIB_SEED),
                        test=synthetic_images(n_test, size, seed=TEST_SEED), source="synthetic")
    if not Path(folder).is_dir():
        raise DataError(f"{folder}: calibration folder not found")
    images = load_folder(Path(folder), size, limit=n_calib + n_test)
    if len(images) > n_test:  # hold the last ones out of calibration
        calib, test = images[:-n_test], images[-n_test:]
    else:
        calib, test = images, images
    log.info("calibration: %d images, parity: %d images from %s (%s)", len(calib), len(test), folder, origin)
    return ImageSet(calib=calib, test=test, source=f"{origin}: {folder}")


def describe_size(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}" if size[0] != size[1] else f"{size[0]} px"


def psnr_db(mse: float, *, cap: float = 200.0) -> float:
    """``10 log10(1 / mse)`` for [0, 1] pixels, capped (identical outputs give ``cap``)."""
    return cap if mse <= 10 ** (-cap / 10) else min(cap, 10.0 * math.log10(1.0 / mse))
