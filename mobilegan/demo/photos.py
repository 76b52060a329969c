"""Demo data built on the spot from real photographs shipped inside scikit-image.

Each photo is split along its longer side into three disjoint bands: 40% feeds domain A,
the last 35% feeds domain B (after :func:`stylize`), the 25% between is held out for
scoring. A and B therefore never show the same pixels (unpaired), and no held-out pixel
is ever trained on; ``stylize(held-out A)`` is the ground truth.
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
    crop: int = 72  # files are crop x crop; training takes random size-px crops of them
    per_photo: int = 80  # crops per photo and domain
    holdout_per_photo: int = 6
    short_side: int = 288  # photos are resized so their short side is this
    seed: int = 0


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


def _bands(photo: np.ndarray) -> dict[str, np.ndarray]:
    """Split along the longer side: 40% A | 25% held out | 35% B."""
    if photo.shape[0] > photo.shape[1]:
        return {k: v.transpose(1, 0, 2) for k, v in _bands(photo.transpose(1, 0, 2)).items()}
    w = photo.shape[1]
    a_end, b_start = int(w * 0.40), int(w * 0.65)
    return {"a": photo[:, :a_end], "hold": photo[:, a_end:b_start], "b": photo[:, b_start:]}


def _crops(region: np.ndarray, n: int, crop: int, rng: np.random.Generator) -> list[np.ndarray]:
    h, w = region.shape[:2]
    if h < crop or w < crop:
        raise DataError(f"demo region {w}x{h} smaller than crop {crop}")
    out = []
    for _ in range(n):
        y, x = int(rng.integers(0, h - crop + 1)), int(rng.integers(0, w - crop + 1))
        out.append(region[y : y + crop, x : x + crop])
    return out


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
    for name, _credit in PHOTOS:
        bands = _bands(_load(name, config.short_side))
        a += _crops(bands["a"], config.per_photo, config.crop, rng)
        b += [to_uint8(stylize(c)) for c in _crops(bands["b"], config.per_photo, config.crop, rng)]
        # Held-out crops at the training size (crop - 8 = the --size the demo trains at).
        side = config.crop - 8
        hold += _crops(bands["hold"], config.holdout_per_photo, side, rng)
    for folder, images, prefix in (
        (data.train_a, a, "a"),
        (data.train_b, b, "b"),
        (data.test_a, hold, "held"),
        (data.test_b_truth, [to_uint8(stylize(h)) for h in hold], "held"),
    ):
        if not folder.is_dir():
            _write_folder(folder, images, prefix)
    log.info("demo data: %d A, %d B, %d held-out crops from %d photos (%s)", len(a), len(b), len(hold), len(PHOTOS), SOURCE)
    return data
