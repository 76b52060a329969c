"""Measure the range a context student's descriptor takes on its training photos (issue 31).

A context student (mobilegan.models.context) turns image-wide statistics into the scale and shift of
every residual block. On a photo unlike any it trained on, those statistics can lie far outside what
it has seen, and the FiLM it draws from them is anything: a student distilled on horses turned an
orange flower close-up into a flat cyan square. :func:`calibrate_context_range` runs the context
encoder over every training image (every cached view of every photo, with whole-image targets) with
the current weights and stores the per-channel minimum and maximum in the model, which then clamps
the descriptor to that range. Distillation calls it before every saved student, so a student file
always carries the range of its own weights.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import torch

from mobilegan.distill.targets import WholeImageTargets
from mobilegan.distill.views import to_unit
from mobilegan.models.generator import ResnetGenerator
from mobilegan.utils.progress import progress_bar

log = logging.getLogger(__name__)

BATCH = 16  # images per context-encoder pass
MAX_SAMPLES = 4096  # datasets of random crops: how many items to draw


def _item_image(item: Any) -> torch.Tensor:
    """The image a training item's context is computed on: the whole image when the item carries one."""
    if isinstance(item, dict):
        return item["W"] if "W" in item else item["A"]
    return item


def training_images(dataset: Any) -> Iterator[torch.Tensor]:
    """Every image the student's context saw in training, (3, H, W) in [-1, 1]: each cached view of
    each photo for whole-image targets, else up to ``MAX_SAMPLES`` items of the dataset."""
    if isinstance(dataset, WholeImageTargets):
        for i in dataset.photos:
            for v in range(dataset.cache.spec.views):
                yield to_unit(dataset.cache.view(i, v))
        return
    for k in range(min(len(dataset), MAX_SAMPLES)):
        yield _item_image(dataset[k])


def _count(dataset: Any) -> int:
    if isinstance(dataset, WholeImageTargets):
        return len(dataset.photos) * dataset.cache.spec.views
    return min(len(dataset), MAX_SAMPLES)


@torch.no_grad()
def calibrate_context_range(student: ResnetGenerator, dataset: Any, device: torch.device | str = "cpu", *,
                            progress: bool = False) -> bool:
    """Set ``student``'s context clamp to its descriptor's range over ``dataset``; False when the student
    has no clamped context branch (nothing to do) or the dataset is empty."""
    if not (student.config.context and student.config.context_clamp):
        return False
    encoder = student.context
    lo: torch.Tensor | None = None
    hi: torch.Tensor | None = None
    batch: list[torch.Tensor] = []

    def take(images: list[torch.Tensor]) -> None:
        nonlocal lo, hi
        d = encoder.describe(torch.stack(images).to(device)).flatten(1)  # (B, D)
        b_lo, b_hi = d.min(dim=0).values, d.max(dim=0).values
        lo = b_lo if lo is None else torch.minimum(lo, b_lo)
        hi = b_hi if hi is None else torch.maximum(hi, b_hi)

    total = _count(dataset)
    for image in progress_bar(training_images(dataset), total=total, desc="context range", unit="img",
                              leave=False, disable=not progress or total < 200):
        batch.append(image)
        if len(batch) == BATCH:
            take(batch)
            batch = []
    if batch:
        take(batch)
    if lo is None or hi is None:
        log.warning("no training images to measure the context range on: the context clamp stays open")
        return False
    encoder.set_range(lo, hi)
    log.debug("context range over %d training images: %d channels", total, lo.numel())
    return True
