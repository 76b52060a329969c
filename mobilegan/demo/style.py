"""The demo's domain-B style: a fixed, documented colour grade a small CycleGAN can learn.

``stylize`` is deterministic and per-pixel (no noise, no dependence on position), so
``stylize(A)`` is an exact ground truth for held-out A images. Steps, on RGB in [0, 1]:

1. tone curve: a soft S-curve (contrast +35% around mid-grey, blended with smoothstep);
2. split toning: teal shadows, warm highlights, weighted by luminance;
3. saturation x1.3 around luminance.

Film grain and a vignette were left out on purpose. Random grain cannot be predicted, so it
would only add an irreducible error to every score. A vignette depends on where a pixel sits
in the whole frame, which a model trained on random crops never sees, so the crops' ground
truth would contradict itself. Everything that remains is a function of the pixel alone.
"""

from __future__ import annotations

import numpy as np

SHADOW_TINT = np.array([-0.10, 0.05, 0.14], dtype=np.float32)  # teal
HIGHLIGHT_TINT = np.array([0.16, 0.05, -0.12], dtype=np.float32)  # warm orange


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def stylize(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 or float in [0, 1] -> (H, W, 3) float32 in [0, 1]."""
    x = rgb.astype(np.float32)
    if rgb.dtype == np.uint8:
        x /= 255.0
    smooth = x * x * (3 - 2 * x)
    contrast = np.clip(0.5 + (x - 0.5) * 1.35, 0, 1)
    x = 0.5 * smooth + 0.5 * contrast
    lum = _luma(x)[..., None]
    x = x + SHADOW_TINT * (1 - lum) ** 2 + HIGHLIGHT_TINT * lum**2
    lum = _luma(x)[..., None]
    x = lum + (x - lum) * 1.3
    return np.clip(x, 0, 1).astype(np.float32)


def to_uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)
