"""Distillation data on top of :mod:`mobilegan.data`: training A images, optional B images,
and a held-out set (``--eval-data`` or a fixed, seeded split of data A)."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset

from mobilegan.data import AugmentConfig, ImageDataset, StepBatchSampler, UnpairedDataset, list_images, scan_images

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistillData:
    train: Dataset  # ImageDataset (A) or UnpairedDataset (A and B)
    held_out: ImageDataset
    held_out_source: str  # human description for logs and eval.json
    n_train: int
    # Some training images at the held-out images' size, scored like them after distillation: a
    # student far better on these than on held-out ones memorised its photos (see generalisation_gap).
    train_eval: ImageDataset | None = None


def split_holdout(files: list[Path], holdout: int, seed: int) -> tuple[list[Path], list[Path]]:
    """(train, held-out): up to ``holdout`` files (never more than a quarter) by a seeded shuffle; both sorted."""
    holdout = min(holdout, len(files) // 4)
    if holdout <= 0:
        return list(files), []
    order = list(range(len(files)))
    random.Random(f"{seed}:holdout").shuffle(order)
    held = sorted(files[i] for i in order[:holdout])
    train = sorted(files[i] for i in order[holdout:])
    return train, held


def prepare_data(*, data_a: Path, data_b: Path | None, eval_data: Path | None, size: int, holdout: int,
                 seed: int, use_b: bool, load_size: int | None = None, preprocess: str = "resize_crop",
                 eval_size: int | None = None) -> DistillData:
    aug = AugmentConfig(size=size, load_size=load_size, preprocess=preprocess)  # type: ignore[arg-type]
    eval_aug = AugmentConfig(size=eval_size or size)  # held-out images: resized to eval_size, scored whole
    files_a, _ = scan_images(list_images(data_a), name="A")
    if eval_data is not None:
        held_files, _ = scan_images(list_images(eval_data), name="eval")
        train_files, source = files_a, f"{eval_data} ({len(held_files)} images)"
    else:
        train_files, held_files = split_holdout(files_a, holdout, seed)
        source = f"{len(held_files)} images held out of {data_a}"
        if not held_files:
            log.warning("data A has only %d images: evaluating on training images (pass --eval-data for a fair score)",
                        len(files_a))
            held_files, source = files_a[: max(1, holdout)], f"training images of {data_a} (too few to hold out)"
    a = ImageDataset(train_files, aug, seed=seed, name="A")
    train: Dataset = a
    if use_b and data_b is not None:
        files_b, _ = scan_images(list_images(data_b), name="B")
        train = UnpairedDataset(a, ImageDataset(files_b, aug, seed=seed, name="B"))
    held = ImageDataset(held_files, eval_aug, seed=seed, name="held_out", shuffle=False)
    fit_files = _spread(train_files, len(held_files)) if set(held_files).isdisjoint(train_files) else []
    fit = ImageDataset(fit_files, eval_aug, seed=seed, name="training", shuffle=False) if fit_files else None
    return DistillData(train=train, held_out=held, held_out_source=source, n_train=len(train_files), train_eval=fit)


def _spread(files: list[Path], n: int) -> list[Path]:
    """``n`` of ``files`` evenly spaced through the list (all of them when there are fewer)."""
    if n >= len(files):
        return list(files)
    return [files[i * len(files) // n] for i in range(n)]


def step_loader(dataset: Dataset, *, start_step: int, total_steps: int, batch_size: int, rank: int = 0,
                world_size: int = 1, workers: int = 0) -> DataLoader:
    """Batches for steps ``start_step ..`` (deterministic in the step: exact resume)."""
    sampler = StepBatchSampler(start_step=start_step, total_steps=total_steps, batch_size=batch_size,
                               rank=rank, world_size=world_size)
    return DataLoader(dataset, batch_sampler=sampler, num_workers=workers, persistent_workers=False)


def held_out_images(held: ImageDataset, limit: int | None = None) -> torch.Tensor:
    """The held-out images as one batch (N, 3, size, size), in file order."""
    n = len(held) if limit is None else min(limit, len(held))
    return torch.stack([held.view(i) for i in range(n)])
