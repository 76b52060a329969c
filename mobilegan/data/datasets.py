"""Image datasets whose every sample is a pure function of (seed, sample index).

``ImageDataset`` (one domain) and ``UnpairedDataset`` (A and B) are indexed by a *global
sample counter* ``k`` = 0, 1, 2, ... that runs past the dataset length: sample ``k`` comes
from epoch ``k // len`` of a per-epoch shuffled order, and its crop/flip RNG is seeded from
(seed, k). Resuming at step ``s`` therefore only needs ``s`` (see
:class:`mobilegan.data.sampling.StepBatchSampler`), and DataLoader workers and DDP ranks need
no shared RNG state.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Sequence
from pathlib import Path

import torch
from torch.utils.data import Dataset
from mobilegan.utils.progress import progress_bar

from mobilegan.data.decode import ImageDecodeError, list_images, load_image_rgb
from mobilegan.data.transforms import AugmentConfig, augment, eval_view
from mobilegan.errors import DataError

log = logging.getLogger(__name__)

MAX_BAD_FRACTION = 0.5


def scan_images(
    files: Sequence[Path], *, name: str, check: bool = True, progress: bool = True
) -> tuple[list[Path], int]:
    """Decode every file once; return the readable ones and how many were skipped.

    Each unreadable file is logged as a warning naming it. Raises :class:`DataError` when no
    file is readable or more than half of them are not.
    """
    files = list(files)
    if not files:
        raise DataError(f"domain {name}: no images found (looked for .jpg .jpeg .png .webp .bmp .tif .tiff)")
    if not check:
        return files, 0
    good: list[Path] = []
    bad = 0
    for path in progress_bar(files, desc=f"checking {name}", unit="img", disable=not progress or len(files) < 50,
                             leave=False):
        try:
            load_image_rgb(path, draft_size=64)
        except ImageDecodeError as exc:
            bad += 1
            log.warning("skipping unreadable image %s", exc)
        else:
            good.append(path)
    if bad:
        log.warning("domain %s: skipped %d of %d files (unreadable)", name, bad, len(files))
    if not good:
        raise DataError(f"domain {name}: none of its {len(files)} image files could be read")
    if bad > MAX_BAD_FRACTION * len(files):
        raise DataError(
            f"domain {name}: {bad} of {len(files)} image files are unreadable (more than half); "
            "check the folder (wrong files, an interrupted copy?)"
        )
    return good, bad


def _rng(seed: int, tag: str, k: int) -> random.Random:
    # String seeds are hashed with SHA-512 by random.Random: stable across runs and platforms.
    return random.Random(f"{seed}:{tag}:{k}")


class ImageDataset(Dataset):
    """One image domain; ``ds[k]`` is the augmented view of sample ``k`` (any ``k >= 0``)."""

    def __init__(self, files: Sequence[Path], aug: AugmentConfig, *, seed: int = 0, name: str = "images",
                 shuffle: bool = True, skipped: int = 0) -> None:
        if not files:
            raise DataError(f"domain {name}: no images")
        self.files = [Path(f) for f in files]
        self.aug = aug
        self.seed = seed
        self.name = name
        self.shuffle = shuffle
        self.skipped = skipped  # files dropped by the scan
        self.load_failures = 0  # files that failed later, while training (per process / worker)
        self._order_epoch = -1
        self._order: list[int] = []

    @classmethod
    def from_folder(cls, folder: str | os.PathLike[str], aug: AugmentConfig, *, seed: int = 0,
                    name: str | None = None, check: bool = True, shuffle: bool = True) -> "ImageDataset":
        """All images under ``folder`` (recursive), unreadable ones skipped with a warning."""
        name = name or Path(folder).name
        files, skipped = scan_images(list_images(folder), name=name, check=check)
        return cls(files, aug, seed=seed, name=name, shuffle=shuffle, skipped=skipped)

    def __len__(self) -> int:
        return len(self.files)

    def order(self, epoch: int) -> list[int]:
        """The file order of ``epoch`` (a seeded permutation, or identity if not shuffling)."""
        if epoch != self._order_epoch:
            order = list(range(len(self.files)))
            if self.shuffle:
                random.Random(f"{self.seed}:{self.name}:order:{epoch}").shuffle(order)
            self._order, self._order_epoch = order, epoch
        return self._order

    def file_for(self, k: int) -> int:
        """Index into ``files`` of sample ``k``."""
        n = len(self.files)
        return self.order(k // n)[k % n]

    def _load(self, index: int) -> tuple[int, object]:
        """Decode ``files[index]``; if it fails now, warn and fall through to the next file."""
        n = len(self.files)
        for attempt in range(n):
            i = (index + attempt) % n
            try:
                return i, load_image_rgb(self.files[i])
            except ImageDecodeError as exc:
                self.load_failures += 1
                log.warning("skipping unreadable image %s", exc)
        raise DataError(f"domain {self.name}: no readable image left")

    def sample(self, k: int) -> torch.Tensor:
        """Augmented training view (3, size, size) of sample ``k``; deterministic in (seed, k)."""
        _, img = self._load(self.file_for(k))
        return augment(img, self.aug, _rng(self.seed, self.name, k))  # type: ignore[arg-type]

    def view(self, index: int) -> torch.Tensor:
        """Deterministic, un-augmented view of ``files[index]`` (for sample grids and evaluation)."""
        _, img = self._load(index % len(self.files))
        return eval_view(img, self.aug)  # type: ignore[arg-type]

    def __getitem__(self, k: int) -> torch.Tensor:
        return self.sample(int(k))


class UnpairedDataset(Dataset):
    """Domains A and B; ``ds[k]`` -> ``{"A": (3,H,W), "B": (3,H,W), "k": k}``.

    Each domain walks its own shuffled order, so A and B pair differently every epoch
    (as unaligned CycleGAN data should). ``len`` is the larger domain: one epoch shows
    every image of the larger domain once.
    """

    def __init__(self, a: ImageDataset, b: ImageDataset) -> None:
        if a.name == b.name:
            raise DataError(f"the two domains need different names (both are {a.name!r})")
        self.a = a
        self.b = b

    def __len__(self) -> int:
        return max(len(self.a), len(self.b))

    def __getitem__(self, k: int) -> dict[str, torch.Tensor | int]:
        k = int(k)
        return {"A": self.a.sample(k), "B": self.b.sample(k), "k": k}
