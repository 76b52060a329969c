"""What ``mobilegan distill`` does with the teacher it is given: student and target scheme.

The teacher's norm decides (BENCHMARKS.md, "Distilling InstanceNorm teachers"):

* **local teachers** (BatchNorm with fixed statistics, or no norm): the output on a crop is the crop
  of the output, so the student trains on crops with targets computed on the fly, and the default
  BatchNorm student (:data:`DEFAULT_STUDENT`, everything folds into its convs) is used.
* **per-image teachers** (InstanceNorm: every official and PyTorch-GAN checkpoint): the picture
  depends on the whole image's statistics. The teacher's targets are computed once on the whole
  training images at ``side`` (the size the student will run at: ``--eval-size``, else ``--size``)
  and cached, and the student is :data:`INSTANCE_STUDENT`: the default with a context branch that reads
  the whole image (:mod:`mobilegan.models.context`). It trains on crops of (image, target) pairs
  with the context of the whole image, so the CPU recipe (16 crops of 64 px) stays as it is.
  A student that normalises per image itself (``--norm instance_decomposed``, ``mobile_s2d4_w025_in``)
  trains on whole images instead, ``batch * size / side`` of them per step (at least 1).

Anything the user passed explicitly (``--student``, ``--norm``, ``--targets``) wins over the choice.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

from mobilegan.distill.targets import TargetPlan
from mobilegan.errors import ConfigError
from mobilegan.models.config import DEFAULT_STUDENT, INSTANCE_STUDENT, GeneratorConfig
from mobilegan.models.unet_config import UnetConfig

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class Recipe:
    student: str
    targets: TargetPlan
    batch_size: int
    use_taps: bool  # feature taps need the teacher's features, which are only there for "crop" targets
    reason: str

    def describe(self) -> str:
        t = self.targets
        where = (f"teacher on the whole image at {t.side} px (cached), student on "
                 + ("whole images" if t.crop == t.side else f"{t.crop} px crops of them on a {t.align} px grid")
                 if t.kind == "whole" else f"teacher on each {t.crop} px training crop")
        return f"recipe: student {self.student}, targets: {where}, batch {self.batch_size}; {self.reason}"


def plan_recipe(teacher: GeneratorConfig | UnetConfig, *, student: str | None, student_overrides: dict[str, Any],
                targets: str, size: int, eval_size: int | None, batch_size: int) -> Recipe:
    """Choose the student preset and how targets are made, from the teacher and the user's flags."""
    # A teacher whose picture depends on the whole image: per-image statistics, or a U-Net (its
    # innermost level sees everything).
    per_image_teacher = not teacher.local
    if targets == "auto":
        kind = "whole" if per_image_teacher else "crop"
    elif targets in ("crop", "whole"):
        kind = targets
    else:
        raise ConfigError(f"unknown --targets {targets!r}; choose auto, crop or whole")
    name = student or (INSTANCE_STUDENT if per_image_teacher and kind == "whole" else DEFAULT_STUDENT)
    if student is None and per_image_teacher and kind == "crop":
        log.warning("--targets crop with an InstanceNorm teacher: the student learns what the teacher does to "
                    "crops, not to whole photos (expect several dB less than --targets whole)")
    if kind == "crop":
        reason = ("the teacher's picture depends on the whole image, but --targets crop was asked for"
                  if per_image_teacher else f"the teacher's norm ({teacher.norm}) is local, so crops see what whole "
                  "images see")
        if size % teacher.size_multiple:
            raise ConfigError(f"--targets crop: the teacher needs sides that are multiples of {teacher.size_multiple} "
                              f"(--size is {size}); use --targets whole")
        return Recipe(student=name, targets=TargetPlan("crop", size, size), batch_size=batch_size, use_taps=True,
                      reason=reason)
    side = eval_size or size
    if side % teacher.size_multiple:
        raise ConfigError(f"the teacher needs sides that are multiples of {teacher.size_multiple} and runs on the whole "
                          f"training images at {side} px: pass --eval-size {max(teacher.size_multiple, side // teacher.size_multiple * teacher.size_multiple)}")
    from mobilegan.models.registry import get_config

    student_config = get_config(name, **student_overrides)
    assert isinstance(student_config, GeneratorConfig)
    # A student that normalises per image must see the whole image, as it will in the app.
    crop = side if student_config.normalises_per_image else min(size, side)
    batch = max(1, batch_size * size // side) if crop == side else batch_size
    why = ("the teacher is a U-Net: its innermost level sees the whole image" if getattr(teacher, "arch", None) == "unet"
           else "the teacher's BatchNorm uses each image's own statistics (the official test.py without --eval): its "
           "picture depends on the whole image" if teacher.norm == "batch_image"
           else "the teacher normalises per image (InstanceNorm): its picture depends on the whole image")
    reason = why if per_image_teacher else "--targets whole was asked for"
    align = crop_grid(teacher.size_multiple, student_config.size_multiple, side=side, crop=crop)
    return Recipe(student=name, targets=TargetPlan("whole", side, crop, align), batch_size=batch, use_taps=False,
                  reason=reason)


MIN_CROP_POSITIONS = 8  # per axis: a coarser grid would leave too few distinct crops of each image


def crop_grid(teacher_multiple: int, student_multiple: int, *, side: int, crop: int) -> int:
    """The grid crop corners lie on: the period of both networks' pixel grids (their size multiples),
    halved while it would leave fewer than :data:`MIN_CROP_POSITIONS` corners per axis (a U-Net's
    period is its whole input side). Never below the student's own period."""
    grid = math.lcm(teacher_multiple, student_multiple)
    while grid > student_multiple and (side - crop) // grid + 1 < MIN_CROP_POSITIONS and grid % 2 == 0:
        grid //= 2
    return grid
