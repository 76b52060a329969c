"""The one rule for image sides the generators accept, shared by the CLI and the library configs."""

from __future__ import annotations

# Two stride-2 stages: sides must be multiples of 4. Below 8 px the bottleneck is 1x1, where
# InstanceNorm and reflection padding cannot run.
SIZE_MULTIPLE = 4
MIN_IMAGE_SIZE = 8


def image_size_problem(size: int) -> str | None:
    """Why ``size`` is not a usable image side, or None when it is."""
    if isinstance(size, bool) or not isinstance(size, int):
        return f"size must be an integer, got {size!r}"
    if size <= 0 or size % SIZE_MULTIPLE:
        return f"size must be a positive multiple of {SIZE_MULTIPLE}, got {size}"
    if size < MIN_IMAGE_SIZE:
        return f"size must be at least {MIN_IMAGE_SIZE} (the generator halves it twice), got {size}"
    return None
