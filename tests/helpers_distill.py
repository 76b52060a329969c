"""Tiny fixtures for distillation tests: image folders and teachers in all three checkpoint layouts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from helpers_foreign import OfficialResnetGenerator, PyTorchGanGenerator
from mobilegan.checkpoints import save_generator
from mobilegan.models import GeneratorConfig, build_model
from mobilegan.utils.atomic import atomic_torch_save

LAYOUTS = ("mobilegan", "official", "pytorch_gan")


def write_images(folder: Path, n: int, *, side: int = 40, seed: int = 0) -> Path:
    """``n`` smooth random colour images (low-frequency noise upsampled), PNG."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        coarse = rng.uniform(0, 255, (5, 5, 3)).astype(np.uint8)
        Image.fromarray(coarse).resize((side, side), Image.Resampling.BICUBIC).save(folder / f"img_{i:03d}.png")
    return folder


def write_teacher(path: Path, layout: str, *, seed: int = 0) -> Path:
    """A small random teacher (ngf 8) saved in ``layout``: ours, official or PyTorch-GAN."""
    torch.manual_seed(seed)
    if layout == "mobilegan":
        save_generator(build_model(GeneratorConfig(ngf=8, n_blocks=3)), path)
    elif layout == "official":
        atomic_torch_save(OfficialResnetGenerator(ngf=8, n_blocks=3).state_dict(), path)
    elif layout == "pytorch_gan":
        atomic_torch_save(PyTorchGanGenerator(ngf=8, n_blocks=3).state_dict(), path)
    else:
        raise ValueError(layout)
    return path


@pytest.fixture(autouse=True)
def single_thread() -> Iterator[None]:
    """One intra-op thread: on a shared 2-core machine, 2 threads thrash (10x slower steps here)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def in_tmp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in a temporary folder: distill records ``runs/latest.json`` relative to the working directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
