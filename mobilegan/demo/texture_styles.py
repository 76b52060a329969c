"""Texture looks an InstanceNorm generator can represent: the styles of the InstanceNorm teachers.

The demo's colour grade (:mod:`mobilegan.demo.style`) depends on absolute brightness and colour,
which a generator whose first norm is an InstanceNorm cannot see (DESIGN.md section 3). These
looks depend on edges and on brightness *relative to the neighbourhood* (local mean and contrast
over a Gaussian window), so they are close to invariant to a global colour shift or gain, like
the texture-and-content tasks of the official CycleGAN checkpoints (zebra stripes, painterly
strokes). They are deterministic and per-image, so ``style(held-out A)`` is an exact ground truth.

* ``sketch``: dark pencil strokes on the edges, soft shading from the local brightness, warm paper.
* ``cartoon``: smoothed colours with posterised local brightness and black ink outlines.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import ndimage

PAPER = np.array([0.97, 0.94, 0.87], dtype=np.float32)
LOCAL_SIGMA = 12.0  # px: the neighbourhood brightness is measured over


def _as_float(rgb: np.ndarray) -> np.ndarray:
    x = rgb.astype(np.float32)
    return x / 255.0 if rgb.dtype == np.uint8 else x


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def _local_stats(lum: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = ndimage.gaussian_filter(lum, LOCAL_SIGMA, mode="reflect")
    var = ndimage.gaussian_filter((lum - mean) ** 2, LOCAL_SIGMA, mode="reflect")
    return mean, np.sqrt(var) + 0.03


def _ink(lum: np.ndarray, std: np.ndarray, *, sigma: float, strength: float) -> np.ndarray:
    """Edge darkness in [0, 1]: gradient magnitude relative to the local contrast."""
    smooth = ndimage.gaussian_filter(lum, sigma, mode="reflect")
    mag = np.hypot(ndimage.sobel(smooth, axis=0, mode="reflect"), ndimage.sobel(smooth, axis=1, mode="reflect"))
    return np.clip(strength * mag / (8.0 * std) - 0.15, 0.0, 1.0)


def sketch(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 or float in [0, 1] -> (H, W, 3) float32 in [0, 1]: pencil on warm paper."""
    lum = _luma(_as_float(rgb))
    mean, std = _local_stats(lum)
    shade = 0.5 + 0.5 * np.tanh((lum - mean) / (1.5 * std))  # relative brightness, 0..1
    ink = _ink(lum, std, sigma=1.0, strength=1.2)
    tone = (0.62 + 0.38 * shade) * (1.0 - 0.85 * ink)
    return np.clip(tone[..., None] * PAPER, 0, 1).astype(np.float32)


def cartoon(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 or float in [0, 1] -> (H, W, 3) float32 in [0, 1]: flat colours, black outlines."""
    x = _as_float(rgb)
    smooth = np.stack([ndimage.gaussian_filter(x[..., c], 2.0, mode="reflect") for c in range(3)], axis=-1)
    lum = _luma(smooth)
    mean, std = _local_stats(lum)
    levels = np.round(2.0 * np.tanh((lum - mean) / (1.5 * std))) / 2.0  # -1, -0.5, 0, 0.5, 1
    target = np.clip(mean + 0.22 * levels, 0.0, 1.0)
    flat = smooth + (target - lum)[..., None]  # move each pixel's brightness to its posterised level
    chroma = _luma(flat)[..., None]
    flat = chroma + (flat - chroma) * 1.25
    ink = _ink(_luma(x), std, sigma=1.2, strength=1.0)
    return np.clip(flat * (1.0 - 0.9 * ink[..., None]), 0, 1).astype(np.float32)


TEXTURE_STYLES: dict[str, Callable[[np.ndarray], np.ndarray]] = {"sketch": sketch, "cartoon": cartoon}
