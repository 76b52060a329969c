"""Sample grids: rows of images side by side, written atomically as PNG."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image

from mobilegan.data.transforms import to_image
from mobilegan.utils.atomic import atomic_write

GAP = 2  # pixels of white between tiles


def image_grid(rows: Sequence[Sequence[torch.Tensor]]) -> Image.Image:
    """Tile rows of (3, H, W) tensors in [-1, 1] into one RGB image (tiles may differ in size)."""
    tiles = [[to_image(t) for t in row] for row in rows if len(row)]
    if not tiles:
        raise ValueError("no images to tile")
    widths = [sum(im.width for im in row) + GAP * (len(row) - 1) for row in tiles]
    heights = [max(im.height for im in row) for row in tiles]
    grid = Image.new("RGB", (max(widths), sum(heights) + GAP * (len(tiles) - 1)), (255, 255, 255))
    y = 0
    for row, h in zip(tiles, heights):
        x = 0
        for im in row:
            grid.paste(im, (x, y))
            x += im.width + GAP
        y += h + GAP
    return grid


def save_image_grid(rows: Sequence[Sequence[torch.Tensor]], path: str | os.PathLike[str]) -> Path:
    grid = image_grid(rows)
    return atomic_write(path, lambda fh: grid.save(fh, format="PNG"))
