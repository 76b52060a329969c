"""Demo data built on the spot from real photographs shipped inside scikit-image.

Each photo is cut into a grid of square blocks, and a seeded shuffle deals every block to
exactly one of three sets: domain A (40%), held out for scoring (25%) or domain B (35%,
stored after :func:`stylize`). Dealing interleaved blocks rather than whole bands keeps the
content of A and B alike (sky, skin and fur land in both), so the only systematic difference
between the domains is the style. A and B never show the same pixels (unpaired), no held-out
pixel is ever trained on, and ``stylize(held-out A)`` is the ground truth.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from mobilegan.demo.style import stylize, to_uint8
from mobilegan.errors import DataError
from mobilegan.utils.atomic import atomic_path

log = logging.getLogger(__name__)

# (file inside skimage/data, credit and licence as stated in scikit-image's docstrings)
PHOTOS: tuple[tuple[str, str], ...] = (
    ("astronaut.png", "Eileen Collins, NASA; public domain"),
    ("chelsea.png", "Chelsea the cat, Stefan van der Walt; CC0"),
    ("coffee.png", "coffee cup, Rachel Michetti / Pikolo Espresso Bar; CC0"),
    ("rocket.jpg", "Falcon 9 launch of DSCOVR, SpaceX; public domain"),
)
SOURCE = "scikit-image sample data (skimage/data), bundled with the scikit-image package"


@dataclass(frozen=True)
class DemoDataConfig:
    block: int = 72  # training files are block x block; training takes random crops of them
    held_side: int = 64  # held-out images: the centre of each held-out block, at the demo's --size
    short_side: int = 288  # photos are resized so their short side is this
    a_fraction: float = 0.40
    held_fraction: float = 0.25  # the rest (35%) is domain B
    blocks_per_photo: int | None = None  # None: every block (tests use fewer)
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.held_side <= self.block:
            raise DataError(f"held_side {self.held_side} must be in 1..block ({self.block})")
        if self.a_fraction <= 0 or self.held_fraction <= 0 or self.a_fraction + self.held_fraction >= 1:
            raise DataError("a_fraction and held_fraction must be positive and leave room for domain B")


@dataclass(frozen=True)
class DemoData:
    root: Path
    train_a: Path
    train_b: Path
    test_a: Path  # held-out inputs
    test_b_truth: Path  # stylize(test_a): ground truth


def _skimage_dir() -> Path:
    try:
        import skimage
    except ImportError:
        raise DataError("the demo needs scikit-image for its bundled photos: pip install scikit-image") from None
    return Path(skimage.__file__).parent / "data"


def _load(name: str, short_side: int) -> np.ndarray:
    path = _skimage_dir() / name
    if not path.is_file():
        raise DataError(f"demo photo {path} is missing from the scikit-image install")
    with Image.open(path) as im:
        im = im.convert("RGB")
        scale = short_side / min(im.size)
        im = im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.BICUBIC)
        return np.asarray(im)


def _blocks(photo: np.ndarray, side: int) -> list[np.ndarray]:
    """Non-overlapping side x side blocks of a centred grid, row by row."""
    h, w = photo.shape[:2]
    rows, cols = h // side, w // side
    if rows == 0 or cols == 0:
        raise DataError(f"demo photo {w}x{h} is smaller than one {side} px block")
    y0, x0 = (h - rows * side) // 2, (w - cols * side) // 2
    return [photo[y0 + r * side : y0 + (r + 1) * side, x0 + c * side : x0 + (c + 1) * side]
            for r in range(rows) for c in range(cols)]


def _deal(n: int, config: DemoDataConfig, rng: np.random.Generator) -> tuple[list[int], list[int], list[int]]:
    """Shuffle block indices into (A, held out, B); every set gets at least one block."""
    order = [int(i) for i in rng.permutation(n)]
    n_held = max(1, round(n * config.held_fraction))
    n_a = max(1, round(n * config.a_fraction))
    if n_held + n_a >= n:
        raise DataError(f"{n} blocks per photo are too few to deal into A, held out and B")
    return order[n_held : n_held + n_a], order[:n_held], order[n_held + n_a :]


def _write_folder(folder: Path, images: list[np.ndarray], prefix: str) -> None:
    with atomic_path(folder) as tmp:
        tmp.mkdir()
        for i, img in enumerate(images):
            Image.fromarray(img).save(tmp / f"{prefix}_{i:04d}.png")


def build_demo_data(root: Path, config: DemoDataConfig = DemoDataConfig()) -> DemoData:
    """Write trainA/, trainB/, testA/ and testB_truth/ under ``root`` (reused when complete)."""
    root = Path(root)
    data = DemoData(root, root / "trainA", root / "trainB", root / "testA", root / "testB_truth")
    if all(p.is_dir() for p in (data.train_a, data.train_b, data.test_a, data.test_b_truth)):
        return data
    rng = np.random.default_rng(config.seed)
    a, b, hold = [], [], []
    margin = (config.block - config.held_side) // 2
    for name, _credit in PHOTOS:
        blocks = _blocks(_load(name, config.short_side), config.block)
        if config.blocks_per_photo is not None:
            blocks = [blocks[int(i)] for i in sorted(rng.choice(len(blocks), config.blocks_per_photo, replace=False))]
        a_idx, held_idx, b_idx = _deal(len(blocks), config, rng)
        a += [blocks[i] for i in a_idx]
        b += [to_uint8(stylize(blocks[i])) for i in b_idx]
        hold += [blocks[i][margin : margin + config.held_side, margin : margin + config.held_side] for i in held_idx]
    for folder, images, prefix in (
        (data.train_a, a, "a"),
        (data.train_b, b, "b"),
        (data.test_a, hold, "held"),
        (data.test_b_truth, [to_uint8(stylize(h)) for h in hold], "held"),
    ):
        if not folder.is_dir():
            _write_folder(folder, images, prefix)
    log.info("demo data: %d A, %d B, %d held-out blocks from %d photos (%s)", len(a), len(b), len(hold), len(PHOTOS), SOURCE)
    return data
