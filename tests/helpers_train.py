"""Tiny image folders and configs for the data / train tests (32 px, a few images)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from mobilegan.train.config import TrainConfig

REPO = Path(__file__).resolve().parents[1]
# Smallest useful CycleGAN: 1 residual block, ngf 8, ndf 8 (states of a few MB).
TINY_MODEL = ["--generator", "resnet_6blocks", "--ngf", "8", "--n-blocks", "1", "--ndf", "8"]


def make_folder(folder: Path, n: int, *, seed: int, size: tuple[int, int] = (48, 40)) -> Path:
    """``n`` random-noise RGB PNGs (W x H = ``size``), plus a nested subfolder for one of them."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        target = folder / ("nested" if i == n - 1 else "") / f"img_{i}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        arr = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        Image.fromarray(arr).save(target)
    return folder


def make_domains(root: Path, n_a: int = 4, n_b: int = 3) -> tuple[Path, Path]:
    return make_folder(root / "A", n_a, seed=1), make_folder(root / "B", n_b, seed=2)


def tiny_config(root: Path, out: Path, **overrides: Any) -> TrainConfig:
    a, b = root / "A", root / "B"
    if not a.exists():
        make_domains(root)
    base: dict[str, Any] = dict(
        data_a=str(a), data_b=str(b), out=str(out), generator="resnet_6blocks", ngf=8, n_blocks=1, ndf=8,
        size=32, steps=6, device="cpu", sample_every=0, save_every=0, log_every=1, progress=False, pool_size=2,
    )
    base.update(overrides)
    return TrainConfig(**base)


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def mobilegan_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "mobilegan", "train", *args]


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(mobilegan_cmd(*args), capture_output=True, text=True, env=cli_env(), timeout=timeout)
