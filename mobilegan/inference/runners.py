"""Uniform callables over every model format ``translate`` accepts.

A runner maps (1, 3, H, W) in [-1, 1] of any H, W to the same, tiling when needed:
checkpoints run in eager PyTorch (any size, whole-image InstanceNorm statistics when tiled);
exported files (.pte, .onnx, .tflite, .mlpackage) have a fixed input size, so images are processed in
tiles of exactly that size, except models that normalise per image (InstanceNorm), which run
whole (see :mod:`mobilegan.inference.exported`). Tile overlaps follow the receptive field.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from mobilegan.errors import MobileganError
from mobilegan.inference.tiling import TileConfig, translate_tensor

Runner = Callable[[torch.Tensor, TileConfig], torch.Tensor]


class EagerRunner:
    def __init__(self, model: nn.Module) -> None:
        from mobilegan.profile import receptive_field

        self.model = model.eval()
        self.receptive_field = receptive_field(self.model)  # sets the tile overlap

    def __call__(self, x: torch.Tensor, tile: TileConfig) -> torch.Tensor:
        device = next(self.model.parameters()).device
        return translate_tensor(self.model, x.to(device), tile, receptive_field=self.receptive_field).cpu()


def open_runner(model: str | os.PathLike[str], *, device: str = "cpu") -> Runner:
    """A runner for a checkpoint, ``.pte``, ``.onnx``, ``.tflite`` or (macOS) ``.mlpackage``."""
    from mobilegan.checkpoints.tf_loader import checkpoint_exists

    path = Path(model)
    if not checkpoint_exists(model):  # TF checkpoints: folders, ckpt-N prefixes, PATH:NAME
        raise MobileganError(f"{path}: no such model file")
    suffix = path.suffix.lower()
    if suffix in (".pte", ".onnx", ".mlpackage", ".tflite"):
        from mobilegan.inference.exported import ExportedRunner

        return ExportedRunner(path)
    from mobilegan.checkpoints import load_generator

    return EagerRunner(load_generator(path, device))
