"""Demo data built on the spot from every colour photograph the installed packages ship.

Ten photos (scikit-image's ``skimage/data`` and matplotlib's sample data) are resized to a
short side of 512 px and cut into 256 px blocks, phone resolution. A seeded shuffle holds a
quarter of each photo's blocks out for scoring; the rest are the training pool. Both domains
are that pool: A holds its blocks as they are, B holds them after :func:`stylize`. The trainer
draws A and B crops independently (random blocks, random positions), so no image ever meets its
own stylized version in a loss: the training is unpaired, and the two domains differ only by the
style, with no content mismatch for the discriminator to push onto the generator (with disjoint
halves of so few blocks, A and B differ in how much sky, skin or fur they show, and a
CycleGAN turns that difference into a colour cast). ``shared_pool=False`` deals the pool into
disjoint halves instead. No held-out pixel is ever trained on, and ``stylize(held-out A)`` is
the ground truth. The stereo pair motorcycle_left/right is dealt as one scene (block k of both
goes to the same set), so a held-out block never has its near-twin in training.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from mobilegan.demo.style import stylize, to_uint8
from mobilegan.errors import DataError
from mobilegan.utils.atomic import atomic_path

log = logging.getLogger(__name__)

# (file, credit and licence as stated by the package that ships it). Files are looked up in
# skimage/data first, then in matplotlib's mpl-data/sample_data.
PHOTOS: tuple[tuple[str, str], ...] = (
    ("astronaut.png", "Eileen Collins, NASA; public domain (scikit-image)"),
    ("chelsea.png", "Chelsea the cat, Stefan van der Walt; CC0 (scikit-image)"),
    ("coffee.png", "coffee cup, Rachel Michetti / Pikolo Espresso Bar; CC0 (scikit-image)"),
    ("rocket.jpg", "Falcon 9 launch of DSCOVR, SpaceX; public domain (scikit-image)"),
    ("motorcycle_left.png", "Middlebury 2014 stereo benchmark, Scharstein et al. (scikit-image)"),
    ("motorcycle_right.png", "Middlebury 2014 stereo benchmark, Scharstein et al. (scikit-image)"),
    ("hubble_deep_field.jpg", "Hubble eXtreme Deep Field, NASA; public domain (scikit-image)"),
    ("ihc.png", "immunohistochemistry, CMMI; no known copyright restrictions (scikit-image)"),
    ("retina.jpg", "fundus photograph, Mikael Haggstrom; CC0 (scikit-image)"),
    ("grace_hopper.jpg", "Grace Hopper, US Navy photograph; public domain (matplotlib sample data)"),
)
# Photos dealt with the same shuffle as another one (same size, same scene).
SAME_SCENE: dict[str, str] = {"motorcycle_right.png": "motorcycle_left.png"}
SOURCE = "colour sample photos bundled with scikit-image (skimage/data) and matplotlib (sample_data)"


@dataclass(frozen=True)
class DemoDataConfig:
    block: int = 256  # training files are block x block; training takes random crops of them
    held_side: int = 256  # held-out images: the centre of each held-out block (scored at this size)
    short_side: int = 512  # photos are resized so their short side is this
    held_fraction: float = 0.25  # the rest is the training pool
    blocks_per_photo: int | None = None  # None: every block (tests use fewer)
    shared_pool: bool = True  # A and B are the same training blocks (B stylized); False: disjoint halves
    seed: int = 0
    style: str = "grade"  # domain B's look: "grade" (style.stylize) or a texture look (texture_styles)

    def __post_init__(self) -> None:
        if not 0 < self.held_side <= self.block:
            raise DataError(f"held_side {self.held_side} must be in 1..block ({self.block})")
        if not 0 < self.held_fraction < 1:
            raise DataError("held_fraction must be in (0, 1)")


@dataclass(frozen=True)
class DemoData:
    root: Path
    train_a: Path
    train_b: Path
    test_a: Path  # held-out inputs
    test_b_truth: Path  # stylize(test_a): ground truth


def style_function(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """The look of domain B by name: the colour grade, or a texture look of an InstanceNorm teacher."""
    from mobilegan.demo.texture_styles import TEXTURE_STYLES

    looks = {"grade": stylize, **TEXTURE_STYLES}
    if name not in looks:
        raise DataError(f"unknown demo style {name!r}; choose one of {', '.join(looks)}")
    return looks[name]


def _sample_dirs() -> list[Path]:
    try:
        import matplotlib
        import skimage
    except ImportError:
        raise DataError("the demo needs scikit-image and matplotlib for their bundled photos: "
                        "pip install scikit-image matplotlib") from None
    return [Path(skimage.__file__).parent / "data", Path(matplotlib.get_data_path()) / "sample_data"]


def photo_path(name: str) -> Path:
    """Where the installed packages keep the demo photo ``name``."""
    dirs = _sample_dirs()
    for folder in dirs:
        if (folder / name).is_file():
            return folder / name
    raise DataError(f"demo photo {name} is missing from {' and '.join(map(str, dirs))}")


def _load(name: str, short_side: int) -> np.ndarray:
    with Image.open(photo_path(name)) as im:
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


def _deal(n: int, config: DemoDataConfig, rng: np.random.Generator, *, odd_to_a: bool
          ) -> tuple[list[int], list[int], list[int]]:
    """Shuffle block indices into (A, held out, B); every set gets at least one block.

    What is not held out is split evenly between A and B; an odd block goes to A when
    ``odd_to_a`` (the caller gives it to the smaller domain so far, so A and B stay the same size).
    """
    order = [int(i) for i in rng.permutation(n)]
    n_held = max(1, round(n * config.held_fraction))
    rest = n - n_held
    if rest < 2:
        raise DataError(f"{n} blocks per photo are too few to deal into A, held out and B")
    n_a = rest // 2 + (rest % 2 if odd_to_a else 0)
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
    style = style_function(config.style)
    a, b, hold = [], [], []
    margin = (config.block - config.held_side) // 2
    deals: dict[str, tuple[list[int], tuple[list[int], list[int], list[int]]]] = {}  # name -> (kept, deal)
    for name, _credit in PHOTOS:
        blocks = _blocks(_load(name, config.short_side), config.block)
        twin = SAME_SCENE.get(name)
        if twin in deals:  # same grid as its twin, so the same block numbers mean the same place
            kept, deal = deals[twin]
        else:
            kept = list(range(len(blocks)))
            if config.blocks_per_photo is not None and config.blocks_per_photo < len(blocks):
                kept = sorted(int(i) for i in rng.choice(len(blocks), config.blocks_per_photo, replace=False))
            deal = _deal(len(kept), config, rng, odd_to_a=len(a) <= len(b))  # odd block: smaller domain
        deals[name] = (kept, deal)
        blocks = [blocks[i] for i in kept]
        a_idx, held_idx, b_idx = deal
        if config.shared_pool:
            a_idx = b_idx = sorted(a_idx + b_idx)
        a += [blocks[i] for i in a_idx]
        b += [to_uint8(style(blocks[i])) for i in b_idx]
        hold += [blocks[i][margin : margin + config.held_side, margin : margin + config.held_side] for i in held_idx]
    for folder, images, prefix in (
        (data.train_a, a, "a"),
        (data.train_b, b, "b"),
        (data.test_a, hold, "held"),
        (data.test_b_truth, [to_uint8(style(h)) for h in hold], "held"),
    ):
        if not folder.is_dir():
            _write_folder(folder, images, prefix)
    log.info("demo data: %d A, %d B, %d held-out blocks from %d photos (%s)", len(a), len(b), len(hold), len(PHOTOS), SOURCE)
    return data
