"""NumPy kernels for MIL's ``pixel_shuffle`` (iOS 15) and ``pixel_unshuffle`` (iOS 16).

Both are pure layout changes, the same as PyTorch's ``PixelShuffle`` / ``PixelUnshuffle``
(coremltools documents them as equivalent); the space-to-depth students convert to them.
Registered into :data:`mobilegan.export.mil_ops.KERNELS` when that module is imported.
"""

from __future__ import annotations

import numpy as np

from mobilegan.export.mil_ops import OpArgs, kernel


def _factor(a: OpArgs, key: str) -> int:
    factor = int(a.scalar(key))
    if factor < 1:
        raise a.fail(f"{key} must be >= 1, got {factor}")
    return factor


@kernel("pixel_shuffle")
def _pixel_shuffle(a: OpArgs) -> np.ndarray:  # (B, C r^2, H, W) -> (B, C, H r, W r)
    x = np.asarray(a.get("x"))
    r = _factor(a, "upscale_factor")
    b, c, h, w = x.shape
    if c % (r * r):
        raise a.fail(f"{c} channels are not a multiple of upscale_factor^2 = {r * r}")
    # Channel c * r^2 + i * r + j lands on row offset i and column offset j (PyTorch's order).
    return x.reshape(b, c // (r * r), r, r, h, w).transpose(0, 1, 4, 2, 5, 3).reshape(b, c // (r * r), h * r, w * r)


@kernel("pixel_unshuffle")
def _pixel_unshuffle(a: OpArgs) -> np.ndarray:  # (B, C, H, W) -> (B, C r^2, H / r, W / r)
    x = np.asarray(a.get("x"))
    r = _factor(a, "downscale_factor")
    b, c, h, w = x.shape
    if h % r or w % r:
        raise a.fail(f"sides {h}x{w} are not multiples of downscale_factor {r}")
    return x.reshape(b, c, h // r, r, w // r, r).transpose(0, 1, 3, 5, 2, 4).reshape(b, c * r * r, h // r, w // r)
